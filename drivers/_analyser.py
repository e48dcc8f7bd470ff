"""The sequence every swept spectrum analyser driver here shares: configure, single sweep
with completion wait, binary trace read, axis from the instrument.

A driver class supplies the table — controls named ``centre_frequency``,
``span``, ``resolution_bandwidth``, ``video_bandwidth``, ``sweep_points``,
``sweep_time``, ``continuous_sweep_enabled``, ``start_frequency``,
``stop_frequency`` — plus the class attributes below; this mixin adds the
role's three methods. Units: Hz, s, dBm.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from drivers import _block
from drivers._checks import check


class SweptAnalyserMixin:
    """Role :class:`hil.roles.SpectrumAnalyser` on top of a driver's control table."""

    MODEL: ClassVar[str]
    #: Commands that make the next trace query answer REAL,32 in the byte order below.
    BINARY_SETUP: ClassVar[tuple[str, ...]]
    BIG_ENDIAN: ClassVar[bool]
    #: Start one sweep and answer "1" when it has completed.
    INITIATE_AND_WAIT: ClassVar[str]
    TRACE_QUERY: ClassVar[str]
    RBW_RANGE: ClassVar[tuple[float, float]]
    VBW_RANGE: ClassVar[tuple[float, float]]
    POINTS_RANGE: ClassVar[tuple[int, int]]
    SWEEP_TIME_RANGE: ClassVar[tuple[float, float]]  # zero span
    MIN_SPAN: ClassVar[float]
    max_frequency: float

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
