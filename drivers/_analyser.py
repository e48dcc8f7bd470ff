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
from hil.drivers._checks import check
from hil.drivers._transport import disable_nagle


def analyser_controls(prefix: str, frequency_range: tuple[float, float], rbw_range: tuple[float, float],
                      vbw_range: tuple[float, float], points_range: tuple[int, int],
                      sweep_time_range: tuple[float, float]) -> type:
    """The control table of a swept analyser, every command led by ``prefix`` (``":"`` or ``""``).

    Returns a class to list among the driver's bases; it also carries the
    ranges as the ``*_RANGE`` attributes :class:`SweptAnalyserMixin` checks against.
    ``centre_frequency`` and ``span`` are dynamic: their upper bound follows ``max_frequency``.
    """
    p = prefix

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
            get_process=lambda v: "ON" if str(v).strip() in ("1", "ON") else "OFF",
        )

    return AnalyserControls


class SweptAnalyserMixin:
    """Role :class:`hil.roles.SpectrumAnalyser` on top of a driver's control table.

    Mixed in first: ``(SweptAnalyserMixin, analyser_controls(...), SCPIMixin, Instrument)``.
    """

    MODEL: ClassVar[str]
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
        disable_nagle(self)

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
        self.centre_frequency = centre
        self.span = span
        self.resolution_bandwidth = rbw
        self.video_bandwidth = vbw
        self.sweep_points = points

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
        self.centre_frequency = frequency
        self.span = 0.0
        self.resolution_bandwidth = rbw
        self.sweep_time = sweep_time
        self.sweep_points = points
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
