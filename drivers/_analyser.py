"""What every swept spectrum analyser driver here shares: the control table, and the sequence
configure, single sweep with completion wait, binary trace read, axis from the instrument.

A driver class takes its control table from :func:`analyser_controls` (the
same commands on every analyser here, only the leading colon and the ranges
differ) plus the class attributes of :class:`SweptAnalyserMixin`, which adds
the role's methods. Units: Hz, s, dBm.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from pymeasure.instruments import Instrument
from pymeasure.instruments.validators import strict_discrete_set, strict_range

from hil.drivers import _block
from hil.drivers._checks import ErrorChecked, check
from hil.drivers._transport import disable_nagle


def _on_off(reply) -> str:
    """A boolean query's reply as pymeasure hands it over (``1.0``, ``"ON"``, ``"+1"``) → "ON"/"OFF".
    (Comparing the text with "1" missed pymeasure's float 1.0: a continuous sweep read as OFF.)"""
    text = str(reply).strip().upper()
    if text in ("ON", "OFF"):
        return text
    try:
        return "ON" if float(text) != 0 else "OFF"
    except ValueError:
        return "OFF"


def analyser_controls(prefix: str, frequency_range: tuple[float, float], rbw_range: tuple[float, float],
                      vbw_range: tuple[float, float], points_range: tuple[int, int],
                      sweep_time_range: tuple[float, float], spec=None, trace_mode_header: str = ":TRAC1:TYPE",
                      attenuation_header: str = ":POW:ATT") -> type:
    """The control table of a swept analyser, every command led by ``prefix`` (``":"`` or ``""``).

    Returns a class to list among the driver's bases; it also carries the
    ranges as the ``*_RANGE`` attributes :class:`SweptAnalyserMixin` checks against.
    ``centre_frequency`` and ``span`` are dynamic: their upper bound follows ``max_frequency``.
    With ``spec`` (an :class:`hil.instruments.AnalyserSpec`) the table also has the bench
    controls: reference level, attenuation (and auto), preamp, detector, averaging, trace mode
    (max hold: ``trace_mode_header`` is the model's header), RBW/VBW/sweep-time auto coupling,
    external reference and marker 1 with peak search.
    """
    p = prefix
    onoff = dict(validator=strict_discrete_set, values={True: "ON", False: "OFF"}, map_values=True,
                 get_process=_on_off)

    class AnalyserControls:
        RBW_RANGE = rbw_range
        VBW_RANGE = vbw_range
        POINTS_RANGE = points_range
        SWEEP_TIME_RANGE = sweep_time_range  # zero span

        centre_frequency = Instrument.control(
            f"{p}FREQ:CENT?", f"{p}FREQ:CENT %.12g", """Control the centre frequency in Hz (float).""",
            validator=strict_range, values=list(frequency_range), dynamic=True,
        )
        span = Instrument.control(
            f"{p}FREQ:SPAN?", f"{p}FREQ:SPAN %.12g", """Control the span in Hz (float, 0 = zero span).""",
            validator=strict_range, values=list(frequency_range), dynamic=True,
        )
        start_frequency = Instrument.measurement(f"{p}FREQ:STAR?", """Get the sweep's start frequency in Hz (float).""")
        stop_frequency = Instrument.measurement(f"{p}FREQ:STOP?", """Get the sweep's stop frequency in Hz (float).""")
        resolution_bandwidth = Instrument.control(
            f"{p}BAND?", f"{p}BAND %.9g", """Control the resolution bandwidth in Hz (float).""",
            validator=strict_range, values=list(RBW_RANGE),
        )
        video_bandwidth = Instrument.control(
            f"{p}BAND:VID?", f"{p}BAND:VID %.9g", """Control the video bandwidth in Hz (float).""",
            validator=strict_range, values=list(VBW_RANGE),
        )
        sweep_points = Instrument.control(
            f"{p}SWE:POIN?", f"{p}SWE:POIN %d", """Control the trace points (int).""",
            validator=strict_range, values=list(POINTS_RANGE), cast=int,
        )
        sweep_time = Instrument.control(
            f"{p}SWE:TIME?", f"{p}SWE:TIME %.9g", """Control the sweep time in s (float).""",
            validator=strict_range, values=list(SWEEP_TIME_RANGE),
        )
        continuous_sweep_enabled = Instrument.control(
            f"{p}INIT:CONT?", f"{p}INIT:CONT %s", """Control continuous (True) or single (False) sweeping.""",
            validator=strict_discrete_set, values={True: "ON", False: "OFF"}, map_values=True,
            get_process=_on_off,
        )

        if spec is not None:
            reference_level = Instrument.control(
                f"{p}DISP:WIND:TRAC:Y:RLEV?", f"{p}DISP:WIND:TRAC:Y:RLEV %.6g",
                """Control the reference level in dBm (float).""",
                validator=strict_range, values=list(spec.reference_level),
            )
            attenuation = Instrument.control(
                f"{attenuation_header}?", f"{attenuation_header} %.6g", """Control the input attenuation in dB (float).""",
                validator=strict_range, values=list(spec.attenuation),
            )
            attenuation_auto = Instrument.control(
                f"{p}POW:ATT:AUTO?", f"{p}POW:ATT:AUTO %s", """Control automatic input attenuation (bool).""", **onoff)
            preamp_enabled = Instrument.control(
                f"{p}POW:GAIN?", f"{p}POW:GAIN %s", """Control the preamplifier (bool).""", **onoff)
            detector = Instrument.control(
                f"{p}DET?", f"{p}DET %s", """Control the detector (str, short form: e.g. 'POS', 'AVER', 'SAMP').""",
                validator=strict_discrete_set,
                values=[w.rstrip("abcdefghijklmnopqrstuvwxyz") for w in spec.detectors],
            )
            averaging_enabled = Instrument.control(
                f"{p}AVER?", f"{p}AVER %s", """Control trace averaging (bool).""", **onoff)
            average_count = Instrument.control(
                f"{p}AVER:COUN?", f"{p}AVER:COUN %d", """Control the number of sweeps averaged (int).""",
                validator=strict_range, values=[1, 10000], cast=int,
            )
            trace_mode = Instrument.control(
                f"{trace_mode_header}?", f"{trace_mode_header} %s",
                """Control trace 1's mode (str: 'WRIT' clear/write, 'MAXH' max hold, 'MINH', 'AVER').""",
                validator=strict_discrete_set, values=["WRIT", "MAXH", "MINH", "AVER"],
            )
            rbw_auto = Instrument.control(
                f"{p}BAND:AUTO?", f"{p}BAND:AUTO %s", """Control RBW coupled to the span (bool).""", **onoff)
            vbw_auto = Instrument.control(
                f"{p}BAND:VID:AUTO?", f"{p}BAND:VID:AUTO %s", """Control VBW coupled to the RBW (bool).""", **onoff)
            sweep_time_auto = Instrument.control(
                f"{p}SWE:TIME:AUTO?", f"{p}SWE:TIME:AUTO %s", """Control the coupled sweep time (bool).""", **onoff)
            reference_source = Instrument.control(
                f"{p}ROSC:SOUR?", f"{p}ROSC:SOUR %s", """Control the frequency reference (str: 'INT' or 'EXT').""",
                validator=strict_discrete_set, values=["INT", "EXT"],
            )
            marker_frequency = Instrument.measurement(
                f"{p}CALC:MARK1:X?", """Get marker 1's position in Hz (s at zero span) (float).""")
            marker_power = Instrument.measurement(
                f"{p}CALC:MARK1:Y?", """Get the power at marker 1 in dBm (float).""")

            def peak_search(self) -> tuple[float, float]:
                """Marker 1 to the highest point of the last trace; returns (Hz, dBm)."""
                self.write(f"{p}CALC:MARK1:MAX")
                return float(self.marker_frequency), float(self.marker_power)

    return AnalyserControls


class SweptAnalyserMixin(ErrorChecked):
    """Role :class:`hil.roles.SpectrumAnalyser` on top of a driver's control table.

    Mixed in first: ``(SweptAnalyserMixin, analyser_controls(...), SCPIMixin, Instrument)``.
    Before the first sweep the driver sends ``MODE_SETUP`` once (mode, measurement,
    power unit dBm) and, where ``POINTS_MAX_QUERY`` is set, reads the most trace
    points the instrument takes; the error queue is read after each configuring step.
    """

    MODEL: ClassVar[str]
    #: Sent once before the first configuration: mode, measurement, unit (so the trace is dBm).
    MODE_SETUP: ClassVar[tuple[str, ...]] = ()
    #: Query answering the instrument's maximum trace points ("" = trust POINTS_RANGE).
    POINTS_MAX_QUERY: ClassVar[str] = ""
    #: Commands that make the next trace query answer REAL,32 in the byte order below.
    BINARY_SETUP: ClassVar[tuple[str, ...]]
    BIG_ENDIAN: ClassVar[bool]
    #: Start one sweep and answer "1" when it has completed.
    INITIATE_AND_WAIT: ClassVar[str]
    TRACE_QUERY: ClassVar[str]
    #: From :func:`analyser_controls`.
    RBW_RANGE: ClassVar[tuple[float, float]]
    VBW_RANGE: ClassVar[tuple[float, float]]
    POINTS_RANGE: ClassVar[tuple[int, int]]
    SWEEP_TIME_RANGE: ClassVar[tuple[float, float]]  # zero span
    MIN_SPAN: ClassVar[float]
    max_frequency: float

    def __init__(self, adapter, name: str, max_frequency: float, **kwargs):
        super().__init__(adapter, name, **kwargs)
        self.max_frequency = float(max_frequency)
        self.centre_frequency_values = [0.0, self.max_frequency]
        self.span_values = [0.0, self.max_frequency]
        self._mode_set = False
        disable_nagle(self)

    #: ``*OPT?`` code → top frequency it installs (empty: not checked).
    FREQUENCY_OPTIONS: ClassVar[dict[str, float]] = {}
    #: Query answering the highest frequency the instrument tunes to ("" = not asked). For models whose
    #: range is the model itself, not an ``*OPT?`` code (R&S FSV: ``FREQ:STOP? MAX``).
    FREQUENCY_MAX_QUERY: ClassVar[str] = ""

    def check_options(self) -> None:
        """The bench's ``max_frequency`` against what the instrument has: the frequency option
        ``*OPT?`` lists (where the codes are known) and/or the top it answers to ``FREQUENCY_MAX_QUERY``.
        A bench claiming more raises :class:`hil.errors.InstrumentError` before any setting is sent."""
        if self.FREQUENCY_OPTIONS:
            listed = {code.strip().strip('"') for code in self.ask("*OPT?").split(",")}
            installed = [self.FREQUENCY_OPTIONS[c] for c in listed if c in self.FREQUENCY_OPTIONS]
            if installed:
                self._refuse_above(max(installed), f"the installed frequency option stops at "
                                                   f"{max(installed):.4g} Hz (*OPT?: {', '.join(sorted(listed))})")
        if self.FREQUENCY_MAX_QUERY:
            reply = self.ask(self.FREQUENCY_MAX_QUERY).strip()
            try:
                top = float(reply)
            except ValueError:
                from hil.errors import InstrumentError

                raise InstrumentError(f"{self.MODEL}: {self.FREQUENCY_MAX_QUERY} answered {reply!r}, "
                                      "not a frequency") from None
            self._refuse_above(top, f"the instrument tunes to {top:.4g} Hz at most ({self.FREQUENCY_MAX_QUERY})")

    def _refuse_above(self, top: float, why: str) -> None:
        if self.max_frequency > top * (1 + 1e-9):
            from hil.errors import InstrumentError

            raise InstrumentError(
                f"{self.MODEL}: the bench says max_frequency = {self.max_frequency:.4g} Hz, but {why}; "
                "set max_frequency in the bench file to what the instrument has"
            )

    def set_mode(self) -> None:
        """Options checked, then mode, measurement and unit (``MODE_SETUP``), then the points limit
        read from the instrument."""
        self.check_options()
        for command in self.MODE_SETUP:
            self.write(command)
        if self.POINTS_MAX_QUERY:
            most = int(float(self.ask(self.POINTS_MAX_QUERY)))
            self.POINTS_RANGE = (self.POINTS_RANGE[0], min(most, self.POINTS_RANGE[1]))
        self.check_step("mode and unit set-up")
        self._mode_set = True

    def configure_sweep(self, centre: float, span: float, rbw: float, vbw: float, points: int) -> None:
        """Set centre and span (Hz), resolution and video bandwidth (Hz), trace points.

        Every value is checked before anything is sent; a span below the
        instrument's minimum (zero span included) is refused: use :meth:`zero_span`.
        """
        centre, span, rbw, vbw = (float(v) for v in (centre, span, rbw, vbw))
        points = self._points(points)
        check("span", span, (self.MIN_SPAN, self.max_frequency), "Hz", self.MODEL)
        check("start frequency", centre - span / 2, (0.0, self.max_frequency), "Hz", self.MODEL)
        check("stop frequency", centre + span / 2, (0.0, self.max_frequency), "Hz", self.MODEL)
        check("resolution bandwidth", rbw, self.RBW_RANGE, "Hz", self.MODEL)
        check("video bandwidth", vbw, self.VBW_RANGE, "Hz", self.MODEL)
        self._ready(points)
        self.centre_frequency = centre
        self.span = span
        self.resolution_bandwidth = rbw
        self.video_bandwidth = vbw
        self.sweep_points = points
        self.check_step("sweep configuration")

    def sweep(self) -> tuple[np.ndarray, np.ndarray]:
        """One single sweep, completion awaited; returns (frequency Hz, power dBm).

        The frequency axis is read from the instrument (start/stop), so it is
        right even if the span was coupled or changed at the front panel.
        """
        power = self._acquire()
        start, stop = float(self.start_frequency), float(self.stop_frequency)
        return np.linspace(start, stop, power.size), power

    def zero_span(self, frequency: float, rbw: float, sweep_time: float, points: int) -> tuple[np.ndarray, np.ndarray]:
        """Sit at ``frequency`` with span 0 for ``sweep_time``; returns (time s from sweep start, power dBm)."""
        frequency, rbw, sweep_time = float(frequency), float(rbw), float(sweep_time)
        points = self._points(points)
        check("frequency", frequency, (0.0, self.max_frequency), "Hz", self.MODEL)
        check("resolution bandwidth", rbw, self.RBW_RANGE, "Hz", self.MODEL)
        check("sweep time", sweep_time, self.SWEEP_TIME_RANGE, "s", self.MODEL)
        self._ready(points)
        self.centre_frequency = frequency
        self.span = 0.0
        self.resolution_bandwidth = rbw
        self.sweep_time = sweep_time
        self.sweep_points = points
        self.check_step("zero-span configuration")
        power = self._acquire()
        return np.linspace(0.0, float(self.sweep_time), power.size), power

    def shutdown(self) -> None:
        """An analyser has no output to switch off: leave it sweeping continuously for the front panel."""
        try:
            self.continuous_sweep_enabled = True
        finally:
            Instrument.shutdown(self)

    def close(self) -> None:
        self.adapter.close()

    # -- steps ----------------------------------------------------------------

    def _ready(self, points: int) -> None:
        """Everything checked against the model's ranges: set the mode once, then check the points
        against the limit the instrument reported."""
        if not self._mode_set:
            self.set_mode()
            check("trace points", points, self.POINTS_RANGE, "points", f"{self.MODEL} (as it reports)")

    def _points(self, points: int) -> int:
        if isinstance(points, bool) or int(points) != points:
            raise ValueError(f"trace points must be an integer, got {points!r}")
        check("trace points", int(points), self.POINTS_RANGE, "points", self.MODEL)
        return int(points)

    def _acquire(self) -> np.ndarray:
        """Binary format, single sweep, wait for "1", read the REAL,32 trace."""
        for command in self.BINARY_SETUP:
            self.write(command)
        self.continuous_sweep_enabled = False
        done = self.ask(self.INITIATE_AND_WAIT).strip()
        if done not in ("1", "+1"):
            raise RuntimeError(f"{self.MODEL}: sweep completion query answered {done!r}, expected 1")
        self.write(self.TRACE_QUERY)
        return _block.decode_real32(_block.read_block(self), self.BIG_ENDIAN)
