"""What the two spectrum-analyser dialects share: sweep settings, single/continuous sweeps
run on the twin, and the trace as ASCII or a REAL block.

``INIT`` runs the sweep on the twin at once (under the server's lock), so a
following ``*OPC?`` answers when it is done, as on the instrument: with a
span, ``twin.configure_sweep`` then ``twin.sweep``; at zero span,
``twin.zero_span``. The trace query returns what the twin produced, in the
format, byte order and power unit set.

Centre, span, start and stop are coupled as on the instruments: the stored
pair is (start, stop); setting the centre keeps the span unless it would
leave the frequency range, then the span shrinks to fit; setting the span
keeps the centre, and moves it inward if the span would not fit; setting
start or stop keeps the other edge (pushing it when they would cross).
So after ``*RST`` a centre alone gives a valid sweep (it used to leave
start at −9.25 GHz and the sweep failed).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from hil.instruments.analysers import AnalyserSpec
from hil.roles import SpectrumAnalyser
from hil.sim.scpi.dialect import Call, Dialect, Spec, choice, flag, format_number, method, number
from hil.sim.scpi.errors import ScpiError
from hil.sim.scpi.tree import forms

#: Trace units: dBm → unit (into 50 Ω).
_UNITS = {
    "DBM": lambda p: p,
    "DBMV": lambda p: p + 46.98970004336019,
    "DBUV": lambda p: p + 106.98970004336019,
    "W": lambda p: 1e-3 * 10 ** (p / 10),
    "V": lambda p: np.sqrt(50.0 * 1e-3 * 10 ** (p / 10)),
}


def analyser_commands(r: AnalyserSpec) -> tuple[Spec, ...]:
    """The settings and sweep rows both analysers write alike (leading colon optional)."""
    return (
        method("[:SENSe]:FREQuency:CENTer", "_centre"),
        method("[:SENSe]:FREQuency:SPAN", "_span"),
        method("[:SENSe]:FREQuency:STARt", "_start"),
        method("[:SENSe]:FREQuency:STOP", "_stop"),
        number("[:SENSe]:BANDwidth|BWIDth[:RESolution]", "rbw", r.rbw, unit="HZ"),
        flag("[:SENSe]:BANDwidth|BWIDth[:RESolution]:AUTO", "rbw_auto"),
        number("[:SENSe]:BANDwidth|BWIDth:VIDeo", "vbw", r.vbw, unit="HZ"),
        flag("[:SENSe]:BANDwidth|BWIDth:VIDeo:AUTO", "vbw_auto"),
        number("[:SENSe]:SWEep:POINts", "points", r.points, integer=True),
        number("[:SENSe]:SWEep:TIME", "sweep_time", r.sweep_time, unit="S"),
        flag("[:SENSe]:SWEep:TIME:AUTO", "sweep_time_auto"),
        number(":DISPlay:WINDow#:TRACe:Y[:SCALe]:RLEVel", "reference_level", r.reference_level, unit="DBM"),
        number("[:SENSe]:POWer[:RF]:ATTenuation", "attenuation", r.attenuation, unit="DB"),
        number(":INPut:ATTenuation", "attenuation", r.attenuation, unit="DB"),  # R&S form
        choice(":DISPlay[:WINDow#]:TRACe#:MODE", "trace_mode", ("WRITe", "MAXHold", "MINHold", "AVERage", "VIEW",
                                                               "BLANk")),  # R&S max hold
        choice(":TRACe#:TYPE", "trace_mode", ("WRITe", "AVERage", "MAXHold", "MINHold")),  # Keysight max hold
        flag("[:SENSe]:POWer[:RF]:ATTenuation:AUTO", "attenuation_auto"),
        flag("[:SENSe]:POWer[:RF]:GAIN[:STATe]", "preamp"),
        choice("[:SENSe]:DETector[:FUNCtion]", "detector", r.detectors),
        flag("[:SENSe]:AVERage[:STATe]", "averaging"),
        number("[:SENSe]:AVERage:COUNt", "average_count", (1, 10000), integer=True),
        choice(":UNIT:POWer", "unit", ("DBM", "DBMV", "DBUV", "W", "V")),
        choice("[:SENSe]:ROSCillator:SOURce", "reference_source", ("INTernal", "EXTernal", "SENSe")),
        flag(":INITiate:CONTinuous", "continuous"),
        method(":INITiate[:IMMediate]", "_initiate", query=False),
        method(":CALCulate:MARKer#:MAXimum[:PEAK]", "_marker_peak", query=False),
        method(":CALCulate:MARKer#:X", "_marker_x"),
        method(":CALCulate:MARKer#:Y", "_marker_y", write=False),
        flag(":CALCulate:MARKer#[:STATe]", "marker_on"),
    )


class AnalyserDialect(Dialect):
    """Base of the analyser dialects; subclasses give their ``spec`` and how a trace is encoded."""

    role = SpectrumAnalyser
    spec: ClassVar[AnalyserSpec]

    def reset(self) -> None:
        low, high = self.spec.frequency
        s = self.state
        s.start, s.stop = low, high
        s.rbw, s.vbw = 3e6, 3e6
        s.rbw_auto = s.vbw_auto = s.sweep_time_auto = s.attenuation_auto = True
        s.points = self.spec.default_points
        s.sweep_time = 0.1
        s.continuous = True
        s.format = "ASC"
        s.byte_order = "NORM"
        s.reference_level, s.attenuation, s.preamp = 0.0, 10.0, False
        s.detector = forms(self.spec.detectors[0])[0]
        s.averaging, s.average_count = False, 100
        s.unit, s.reference_source, s.marker_on, s.trace_mode = "DBM", "INT", False, "WRIT"
        self.markers: dict[int, int] = {}
        self.trace: np.ndarray | None = None

    # centre and span are views of (start, stop)
    @property
    def centre(self) -> float:
        return (self.state.start + self.state.stop) / 2

    @property
    def span(self) -> float:
        return self.state.stop - self.state.start

    def encode_trace(self, values: np.ndarray) -> bytes:
        raise NotImplementedError

    # -- hooks and handlers -----------------------------------------------------

    def _frequency(self, call: Call, current: float) -> float | str:
        """The query's reply (str) or the value set (float, range-checked)."""
        low, high = self.spec.frequency
        if call.query:
            if call.args:
                call.count(1)
                return format_number(low if call.word(0, ("MINimum", "MAXimum")) == "MIN" else high)
            call.count(0)
            return format_number(current)
        call.count(1)
        value = call.number(0, "HZ", (low, high))
        if not low <= value <= high:
            raise ScpiError(-222, f"{value:g} Hz outside [{low:g}, {high:g}] Hz")
        return value

    def _set_edges(self, start: float, stop: float) -> None:
        self.state.start, self.state.stop = start, stop
        self.trace = None

    def _centre(self, call: Call) -> str | None:
        value = self._frequency(call, self.centre)
        if isinstance(value, str):
            return value
        low, high = self.spec.frequency
        half = min(self.span / 2, value - low, high - value)  # the span shrinks to fit
        self._set_edges(value - half, value + half)
        return None

    def _span(self, call: Call) -> str | None:
        value = self._frequency(call, self.span)
        if isinstance(value, str):
            return value
        if 0 < value < self.spec.min_span:
            raise ScpiError(-222, f"span {value:g} Hz below {self.spec.min_span:g} Hz (0 = zero span)")
        low, high = self.spec.frequency
        centre = min(max(self.centre, low + value / 2), high - value / 2)  # the centre moves inward to fit
        self._set_edges(centre - value / 2, centre + value / 2)
        return None

    def _start(self, call: Call) -> str | None:
        value = self._frequency(call, self.state.start)
        if isinstance(value, str):
            return value
        stop = self.state.stop
        if stop - value < self.spec.min_span:
            stop = min(self.spec.frequency[1], value + max(self.span, self.spec.min_span))
        self._set_edges(min(value, stop - self.spec.min_span), stop)
        return None

    def _stop(self, call: Call) -> str | None:
        value = self._frequency(call, self.state.stop)
        if isinstance(value, str):
            return value
        start = self.state.start
        if value - start < self.spec.min_span:
            start = max(self.spec.frequency[0], value - max(self.span, self.spec.min_span))
        self._set_edges(start, max(value, start + self.spec.min_span))
        return None

    # -- markers (on the last trace) ----------------------------------------------

    def _marker_peak(self, call: Call) -> None:
        call.count(0)
        if self.trace is None or self.state.continuous:
            self.trace = self.acquire()
        self.markers[call.suffix()] = int(np.argmax(self.trace))
        self.state.marker_on = True

    def _marker_axis(self, index: int) -> float:
        points = max(self.state.points - 1, 1)
        if self.span > 0:
            return self.state.start + self.span * index / points
        return self.state.sweep_time * index / points

    def _marker_x(self, call: Call) -> str | None:
        number_ = call.suffix()
        if call.query:
            call.count(0)
            return format_number(self._marker_axis(self.markers.get(number_, 0)))
        call.count(1)
        value = call.number(0, "HZ" if self.span > 0 else "S")
        points = max(self.state.points - 1, 1)
        full = self.span if self.span > 0 else self.state.sweep_time
        origin = self.state.start if self.span > 0 else 0.0
        self.markers[number_] = int(round(min(max((value - origin) / full, 0.0), 1.0) * points)) if full else 0
        return None

    def _marker_y(self, call: Call) -> str:
        call.count(0)
        if self.trace is None:
            self.trace = self.acquire()
        index = min(self.markers.get(call.suffix(), 0), self.trace.size - 1)
        return format_number(float(_UNITS[self.state.unit](self.trace[index])))

    def _initiate(self, call: Call) -> None:
        call.count(0)
        self.trace = self.acquire()

    def acquire(self) -> np.ndarray:
        """One sweep on the twin with the present settings → power in dBm, ``points`` long."""
        s = self.state
        if self.span > 0:
            self.call_twin(self.twin.configure_sweep, self.centre, self.span, s.rbw, s.vbw, s.points)
            _, power = self.call_twin(self.twin.sweep)
        else:
            _, power = self.call_twin(self.twin.zero_span, self.centre, s.rbw, s.sweep_time, s.points)
        power = np.asarray(power, dtype=np.float64)
        if power.shape != (s.points,):
            raise ScpiError(-240, f"twin returned {power.shape} points, {s.points} set")
        return power

    def trace_reply(self, call: Call) -> bytes:
        """``TRACE1`` in the format set. In continuous mode, or before any single sweep (the
        instrument would show the trace its continuous sweeping left), a fresh sweep first."""
        call.count(1)
        if call.word(0, ("TRACE1", "TRACE2", "TRACE3", "TRACE4", "TRACE5", "TRACE6")) != "TRACE1":
            raise ScpiError(-224, "only TRACE1 holds data")
        if self.state.continuous or self.trace is None:
            self.trace = self.acquire()
        values = self.trace if self.state.unit == "DBM" else _UNITS[self.state.unit](self.trace)
        if self.state.format == "ASC":
            return ",".join(format_number(float(v)) for v in values).encode("ascii")
        return self.encode_trace(values)


def ieee_block(payload: bytes) -> bytes:
    """Definite-length block: ``#``, digit count, byte count, bytes."""
    length = str(len(payload)).encode("ascii")
    return b"#" + str(len(length)).encode("ascii") + length + payload
