"""Closed-form fields of a uniformly magnetised disk: the reference the Fourier model is checked against.

A disk of radius R (m) and thickness t (m), top face at z = 0, sensor at
height d above it. Out of plane (m = ẑ) it is two discs of magnetic charge
±M_s, so on its axis

    B_z(d) = (μ0 M_s / 2) [ (d + t) / √((d + t)² + R²) − d / √(d² + R²) ].

Off axis, the Hankel transforms of the same Fourier expression
(∫ e^{−pk} J1(kR) dk = (1 − p/√(p²+R²))/R gives back the line above):

    m = ẑ:  B_z(r)    = (μ0 M_s R / 2)        ∫ e^{−kd}(1 − e^{−kt}) J1(kR) J0(kr) dk
    m = x̂:  B_z(r, φ) = (μ0 M_s R / 2) cos φ  ∫ e^{−kd}(1 − e^{−kt}) J1(kR) J1(kr) dk

evaluated by 1D quadrature — no FFT, no grid.
"""

from __future__ import annotations

import math

import numpy as np

from .forward import MU0


def disk_bz_on_axis(height: float | np.ndarray, radius: float, thickness: float, ms: float) -> np.ndarray:
    """B_z (T) on the axis of an out-of-plane disk, at ``height`` (m) above its top face."""
    d = np.asarray(height, dtype=np.float64)
    top = (d + thickness) / np.sqrt((d + thickness) ** 2 + radius ** 2)
    return 0.5 * MU0 * ms * (top - d / np.sqrt(d ** 2 + radius ** 2))


def disk_bz(x: np.ndarray, y: np.ndarray, height: float, radius: float, thickness: float, ms: float,
            direction: str = "z") -> np.ndarray:
    """B_z (T) at points (x, y) (m, disk centred at the origin) for m = ẑ (``"z"``) or x̂ (``"x"``)."""
    from scipy.integrate import quad
    from scipy.special import j0, j1

    x, y = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
    r = np.hypot(x, y)
    kmax = 60.0 / height  # e^{-60}: the rest of the integrand is below double precision

    def radial(rr: float) -> float:
        if direction == "z":
            f = lambda k: math.exp(-k * height) * -math.expm1(-k * thickness) * j1(k * radius) * j0(k * rr)
        elif direction == "x":
            f = lambda k: math.exp(-k * height) * -math.expm1(-k * thickness) * j1(k * radius) * j1(k * rr)
        else:
            raise ValueError(f"direction must be 'z' or 'x', got {direction!r}")
        value, _ = quad(f, 0.0, kmax, limit=400, epsabs=0.0, epsrel=1e-10)
        return value

    out = np.array([radial(float(rr)) for rr in r.ravel()]).reshape(r.shape)
    if direction == "x":
        with np.errstate(invalid="ignore", divide="ignore"):
            out = out * np.where(r > 0, x / r, 0.0)
    return 0.5 * MU0 * ms * radius * out
