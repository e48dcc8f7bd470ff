"""A spectrum analyser looking at an oscillator sample.

Each oscillator is a Lorentzian line (centre f_i, FWHM Δf_i, total power P_i).
A bin at frequency f shows the power of every line inside its resolution
bandwidth (rectangular RBW: the Lorentzian's integral over f ± RBW/2) plus
the displayed noise floor, N = DANL·RBW. Noise fluctuates bin to bin with the
chi-square spread of a power detector, averaged down by the video filter
(relative spread √(VBW/RBW), capped at 1). In zero span the analyser sits at
one frequency while the sample evolves; the RBW filter's response time
1/(2π·RBW) low-passes the power-versus-time trace.
"""

from __future__ import annotations

import numpy as np

from hil.instruments import KEYSIGHT_XSERIES
from hil.roles import CurrentDrivenSample, Trace
from hil.sim.twins.base import TwinInstrument


def lorentzian_fraction(f: np.ndarray, centre: np.ndarray, fwhm: np.ndarray, rbw: float) -> np.ndarray:
    """Fraction of each line's power inside [f − RBW/2, f + RBW/2]; shape (len(f), n_lines)."""
    f = np.asarray(f)[:, None]
    hw = np.asarray(fwhm)[None, :] / 2
    c = np.asarray(centre)[None, :]
    return (np.arctan((f + rbw / 2 - c) / hw) - np.arctan((f - rbw / 2 - c) / hw)) / np.pi


def watts_to_dbm(p: np.ndarray) -> np.ndarray:
    return 10.0 * np.log10(np.maximum(p, 1e-30) / 1e-3)


class SimSpectrumAnalyser(TwinInstrument):
    """Swept and zero-span analyser of an oscillator sample (N9020A-like ranges)."""

    # the N9020A's, from the one spec its driver and SCPI dialect use too
    F_MAX = KEYSIGHT_XSERIES.frequency[1]
    RBW_RANGE = KEYSIGHT_XSERIES.rbw
    POINTS_RANGE = KEYSIGHT_XSERIES.points
    SWEEP_TIME_RANGE = KEYSIGHT_XSERIES.sweep_time  # s, zero span

    def __init__(self, sample: CurrentDrivenSample, danl_dbm_per_hz: float = -150.0, seed: int = 0):
        super().__init__()
        self.sample = sample
        self.danl = 1e-3 * 10 ** (danl_dbm_per_hz / 10)  # W/Hz
        self.rng = np.random.default_rng(seed)
        self.centre, self.span, self.rbw, self.vbw, self.points = 5e9, 2e9, 1e6, 1e6, 1001

    def _check(self, centre: float, rbw: float, vbw: float, points: int, span: float = 0.0) -> None:
        if not 0 < centre <= self.F_MAX or span < 0 or centre + span / 2 > self.F_MAX:
            raise ValueError(f"frequency range {centre:g} ± {span / 2:g} Hz outside (0, {self.F_MAX:g}] Hz")
        lo, hi = self.RBW_RANGE
        if not lo <= rbw <= hi or not lo <= vbw <= 50e6:
            raise ValueError(f"RBW {rbw:g} Hz / VBW {vbw:g} Hz outside [{lo:g}, {hi:g}] Hz")
        if not self.POINTS_RANGE[0] <= int(points) <= self.POINTS_RANGE[1]:
            raise ValueError(f"points {points} outside {self.POINTS_RANGE}")

    def configure_sweep(self, centre: float, span: float, rbw: float, vbw: float, points: int) -> None:
        self._log("configure_sweep", centre, span, rbw, vbw, points)
        self._check(centre, rbw, vbw, points, span)
        self.centre, self.span, self.rbw, self.vbw, self.points = centre, span, rbw, vbw, int(points)

    def sweep_time(self) -> float:
        """Auto-coupled sweep time (s): ~2·span/RBW², at least 1 ms."""
        return max(1e-3, 2.0 * self.span / self.rbw**2)

    def _displayed(self, f: np.ndarray, rbw: float, vbw: float) -> np.ndarray:
        s = self.sample
        line = lorentzian_fraction(f, s.frequencies(), s.linewidths(), rbw) @ s.powers()
        floor = self.danl * rbw
        spread = min(1.0, np.sqrt(vbw / rbw))
        noise = floor * np.maximum(1.0 + spread * self.rng.standard_normal(f.shape), 0.05)
        return line + noise

    def sweep(self) -> Trace:
        self._log("sweep")
        f = np.linspace(self.centre - self.span / 2, self.centre + self.span / 2, self.points)
        self.sample.advance_to(self.sample.time + self.sweep_time())
        return f, watts_to_dbm(self._displayed(f, self.rbw, self.vbw))

    def zero_span(self, frequency: float, rbw: float, sweep_time: float, points: int) -> Trace:
        self._log("zero_span", frequency, rbw, sweep_time, points)
        self._check(frequency, rbw, rbw, points)
        lo, hi = self.SWEEP_TIME_RANGE
        if not lo <= sweep_time <= hi:
            raise ValueError(f"sweep time {sweep_time:g} s outside [{lo:g}, {hi:g}] s")
        t = np.linspace(0.0, sweep_time, int(points))
        dt = t[1] - t[0] if points > 1 else sweep_time
        f = np.array([frequency])
        t0 = self.sample.time
        raw = np.empty(len(t))
        for k, tk in enumerate(t):
            self.sample.advance_to(t0 + tk)
            raw[k] = self._displayed(f, rbw, rbw)[0]
        # the RBW filter's finite response time: a one-pole low-pass
        a = 1.0 - np.exp(-2 * np.pi * rbw * dt)
        out = np.empty_like(raw)
        acc = raw[0]
        for k, v in enumerate(raw):
            acc += a * (v - acc)
            out[k] = acc
        return t, watts_to_dbm(out)
