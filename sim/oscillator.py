"""Spin-torque nano-oscillators as a sample: the auto-oscillator model, per device.

Each oscillator's normalised power p ∈ [0, 1] follows (Q = 0, σ = 1 form)

    dp/dt = −γ p + γ ζ p (1 − p),     ζ = I / I_th,

so it auto-oscillates above the threshold current I_th with p* = 1 − 1/ζ.
For a constant drive the equation is logistic and is integrated with its
exact solution, which is stable for any step (explicit Euler is not).
Emitted power is P = P_max p; frequency f = f0 + N p (nonlinear shift);
the linewidth narrows as the oscillation grows, Δf = Δf_ref · p_ref / p.
A thermal floor p_min keeps a sub-threshold oscillator restartable.
Thermal noise (off by default, so existing runs stay deterministic): the
power fluctuates about the deterministic solution as an Ornstein–Uhlenbeck
process of stationary rms ``thermal_noise`` (fraction of p_max) relaxing at
the rate γ, drawn exactly for any step length and kept inside [p_min, 1].
This is the sample the bias-source and spectrum-analyser twins act on.
"""

from __future__ import annotations

import numpy as np


def logistic_step(p: np.ndarray, drive: np.ndarray, gamma: np.ndarray, dt: float) -> np.ndarray:
    """Exact solution of dp/dt = −γp + γζp(1−p) after ``dt`` s at constant ζ = ``drive``."""
    a = gamma * (drive - 1.0)
    b = gamma * drive
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        decay = np.exp(-a * dt)
        growth = np.where(np.abs(a * dt) > 1e-12, -np.expm1(-a * dt) / np.where(a == 0, 1, a), dt)
        out = p / (decay + b * p * growth)
    return np.nan_to_num(out, nan=0.0, posinf=1.0)


class OscillatorArray:
    """``n`` uncoupled STNOs with device-to-device spread; SI units throughout.

    Satisfies :class:`hil.roles.CurrentDrivenSample`.
    """

    def __init__(
        self,
        n: int = 4,
        f0: float = 4.0e9,
        f_spacing: float = 0.5e9,
        shift: float = 1.0e9,
        tau: float = 14.12e-9,
        threshold_current: float = 1.0e-3,
        p_max: float = 1.0e-9,
        resistance: float = 100.0,
        linewidth_ref: float = 1.0e6,
        p_min: float = 1.0e-4,
        spread: float = 0.0,
        seed: int = 0,
        thermal_noise: float = 0.0,
    ):
        if n < 1:
            raise ValueError(f"an oscillator array needs n >= 1, got {n}")
        if tau <= 0 or threshold_current <= 0 or p_max <= 0 or resistance <= 0:
            raise ValueError("tau, threshold_current, p_max and resistance must be > 0")
        if not 0 <= thermal_noise < 1:
            raise ValueError(f"thermal_noise is an rms fraction of p_max in [0, 1), got {thermal_noise}")
        rng = np.random.default_rng(seed)
        self.thermal_noise = float(thermal_noise)
        self._noise_rng = np.random.default_rng([seed, 1])
        jitter = 1.0 + spread * rng.standard_normal(n) if spread else np.ones(n)
        self._n = n
        self.f0 = f0 + f_spacing * np.arange(n)
        self.shift = shift
        self.gamma = jitter / tau  # 1/s, device-to-device spread
        self.threshold_current = threshold_current
        self.p_max = p_max
        self._resistance = np.full(n, float(resistance))
        self.linewidth_ref = linewidth_ref
        self.p_min = p_min
        self.current = np.zeros(n)
        self.p = np.full(n, p_min)
        self._time = 0.0

    @property
    def n_oscillators(self) -> int:
        return self._n

    @property
    def time(self) -> float:
        return self._time

    def _check(self, index: int) -> int:
        if not 0 <= index < self._n:
            raise IndexError(f"oscillator {index} does not exist; this chip has 0..{self._n - 1}")
        return index

    def set_bias(self, index: int, current: float) -> None:
        self.current[self._check(index)] = float(current)

    def resistance(self, index: int) -> float:
        return float(self._resistance[self._check(index)])

    def advance_to(self, time: float) -> None:
        dt = float(time) - self._time
        if dt < 0:
            raise ValueError(f"cannot go back in time: now {self._time:g} s, asked {time:g} s")
        if dt > 0:
            drive = np.abs(self.current) / self.threshold_current
            p = logistic_step(self.p, drive, self.gamma, dt)
            if self.thermal_noise:
                kick = self.thermal_noise * np.sqrt(-np.expm1(-2 * self.gamma * dt))
                p = np.minimum(p + kick * self._noise_rng.standard_normal(self._n), 1.0)
            self.p = np.maximum(p, self.p_min)
            self._time = float(time)

    def steady_power_fraction(self) -> np.ndarray:
        """p* = max(0, 1 − I_th/|I|): where each oscillator settles at its present bias."""
        drive = np.abs(self.current) / self.threshold_current
        with np.errstate(divide="ignore"):
            return np.clip(1.0 - 1.0 / drive, 0.0, 1.0)

    def frequencies(self) -> np.ndarray:
        return self.f0 + self.shift * self.p

    def powers(self) -> np.ndarray:
        return self.p_max * self.p

    def linewidths(self) -> np.ndarray:
        return self.linewidth_ref * 0.5 / np.maximum(self.p, self.p_min)
