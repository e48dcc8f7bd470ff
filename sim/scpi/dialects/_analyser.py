"""What the two spectrum-analyser dialects share: sweep settings, single/continuous sweeps
run on the twin, and the trace as ASCII or a REAL block.

``INIT`` runs the sweep on the twin at once (under the server's lock), so a
following ``*OPC?`` answers when it is done, as on the instrument: with a
span, ``twin.configure_sweep`` then ``twin.sweep``; at zero span,
``twin.zero_span``. The trace query returns what the twin produced, in the
format and byte order set.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hil.roles import SpectrumAnalyser
from hil.sim.scpi.dialect import Call, Dialect, Spec, flag, format_number, method, number
from hil.sim.scpi.errors import ScpiError


@dataclass(frozen=True)
class AnalyserRanges:
    frequency: tuple[float, float]  # Hz
    rbw: tuple[float, float]  # Hz
    vbw: tuple[float, float]  # Hz
    points: tuple[int, int]
    sweep_time: tuple[float, float]  # s
    min_span: float  # Hz, below it only 0 (zero span)
    default_points: int


def analyser_commands(r: AnalyserRanges) -> tuple[Spec, ...]:
    """The settings and sweep rows both analysers write alike (leading colon optional)."""
    return (
        number("[:SENSe]:FREQuency:CENTer", "centre", r.frequency, unit="HZ"),
        number("[:SENSe]:FREQuency:SPAN", "span", r.frequency, unit="HZ", check="check_span"),
        method("[:SENSe]:FREQuency:STARt", "_start", write=False),
        method("[:SENSe]:FREQuency:STOP", "_stop", write=False),
        number("[:SENSe]:BANDwidth|BWIDth[:RESolution]", "rbw", r.rbw, unit="HZ"),
        number("[:SENSe]:BANDwidth|BWIDth:VIDeo", "vbw", r.vbw, unit="HZ"),
        number("[:SENSe]:SWEep:POINts", "points", r.points, integer=True),
        number("[:SENSe]:SWEep:TIME", "sweep_time", r.sweep_time, unit="S"),
        flag(":INITiate:CONTinuous", "continuous"),
        method(":INITiate[:IMMediate]", "_initiate", query=False),
    )


class AnalyserDialect(Dialect):
    """Base of the analyser dialects; subclasses set ``RANGES`` and how a trace is encoded."""

    role = SpectrumAnalyser
    RANGES: AnalyserRanges

    def reset(self) -> None:
        low, high = self.RANGES.frequency
        s = self.state
        s.centre, s.span = (low + high) / 2, high - low
        s.rbw, s.vbw = 3e6, 3e6
        s.points = self.RANGES.default_points
        s.sweep_time = 0.1
        s.continuous = True
        s.format = "ASC"
        s.byte_order = "NORM"
        self.trace: np.ndarray | None = None

    def encode_trace(self, values: np.ndarray) -> bytes:
        raise NotImplementedError

    # -- hooks and handlers -----------------------------------------------------

    def check_span(self, state, attr: str, span: float) -> None:
        if 0 < span < self.RANGES.min_span:
            raise ScpiError(-222, f"span {span:g} Hz below {self.RANGES.min_span:g} Hz (0 = zero span)")

    def _start(self, call: Call) -> str:
        call.count(0)
        return format_number(self.state.centre - self.state.span / 2)

    def _stop(self, call: Call) -> str:
        call.count(0)
        return format_number(self.state.centre + self.state.span / 2)

    def _initiate(self, call: Call) -> None:
        call.count(0)
        self.trace = self.acquire()

    def acquire(self) -> np.ndarray:
        """One sweep on the twin with the present settings → power in dBm, ``points`` long."""
        s = self.state
        low, high = self.RANGES.frequency
        if s.span > 0:
            if s.centre - s.span / 2 < low or s.centre + s.span / 2 > high:
                raise ScpiError(-221, "centre ± span/2 leaves the frequency range")
            self.call_twin(self.twin.configure_sweep, s.centre, s.span, s.rbw, s.vbw, s.points)
            _, power = self.call_twin(self.twin.sweep)
        else:
            _, power = self.call_twin(self.twin.zero_span, s.centre, s.rbw, s.sweep_time, s.points)
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
        if self.state.format == "ASC":
            return ",".join(format_number(float(v)) for v in self.trace).encode("ascii")
        return self.encode_trace(self.trace)


def ieee_block(payload: bytes) -> bytes:
    """Definite-length block: ``#``, digit count, byte count, bytes."""
    length = str(len(payload)).encode("ascii")
    return b"#" + str(len(length)).encode("ascii") + length + payload
