"""B_z above a magnetic film, from its magnetisation: the forward model of NV / MFM imaging.

Geometry: a film of thickness t (m) occupies −t ≤ z ≤ 0 with magnetisation
M_s·m(x, y) (|m| ≤ 1, uniform through the thickness); the sensor sits at
z = d (m) above the top surface. With magnetic charges (surface ±M_s m_z on
the two faces, volume −M_s ∇·m_xy) and B = −μ0∇φ above the film, the exact
2D Fourier transform (f(r) = ∫ f(k) e^{ik·r} d²k/(2π)²) is

    B_z(k) = (μ0 M_s / 2) e^{−kd} (1 − e^{−kt}) [ m_z(k) − i k̂·m_xy(k) ].

Written with the transfer functions of ∇²m_z (−k²) and ∇·m_xy (i k·), the
t ≪ d limit (1 − e^{−kt} → kt) is the real-space form

    B_z = −(μ0 M_s / 2) [ α_z ∗ ∇²m_z + α_xy ∗ ∇·m_xy ],
    α_z = t / (2π (d² + r²)^{1/2}),   α_xy = d t / (2π (d² + r²)^{3/2}),

which :func:`bz_thin_film_realspace` evaluates independently (real-space
kernels, finite differences) as the cross-check of :func:`bz_from_magnetisation`.

Scale invariance: in lengths of d (ρ = r/d), b = −4π d B_z / (μ0 M_s t)
= α̃_z ∗ ∇_ρ² m_z + α̃_xy ∗ ∇_ρ·m_xy with α̃_z = (1+ρ²)^{−1/2}, α̃_xy =
(1+ρ²)^{−3/2}: dimensionless, independent of d, M_s and (for t ≪ d) of t.
(The issue wrote d³ in the scale; that leaves b with units of m², so the
scale used here is the dimensionless one, d to the first power.)
"""

from __future__ import annotations

import math

import numpy as np

from hil.errors import InputDataError

MU0 = 4e-7 * math.pi * 1.00000000055  # vacuum permeability, T·m/A (CODATA 2018)


def _check_geometry(pixel: float, height: float, thickness: float, ms: float) -> None:
    for name, value in (("pixel", pixel), ("height", height), ("thickness", thickness)):
        if not (np.isfinite(value) and value > 0):
            raise InputDataError(f"{name} must be a positive length in metres, got {value!r}")
    if not np.isfinite(ms):
        raise InputDataError(f"saturation magnetisation must be finite (A/m), got {ms!r}")


def canonical_magnetisation(m: np.ndarray) -> np.ndarray:
    """(3, H, W) or (N, 3, H, W) finite float64 with |m| ≤ 1 (+ rounding), else a clear error."""
    m = np.asarray(m, dtype=np.float64)
    if m.ndim not in (3, 4) or m.shape[-3] != 3:
        raise InputDataError(
            f"magnetisation of shape {m.shape} refused: give (3, H, W) or (N, 3, H, W) components (m_x, m_y, m_z)")
    if not np.all(np.isfinite(m)):
        raise InputDataError("magnetisation contains NaN or inf; fill the missing pixels (e.g. with 0) first")
    norm = np.sqrt(np.sum(m * m, axis=-3))
    if norm.max(initial=0.0) > 1 + 1e-6:
        raise InputDataError(
            f"|m| reaches {norm.max():.4g} > 1: m is M/M_s; put the size of the moment in ms (A/m)")
    return m


def wavevectors(shape: tuple[int, int], pixel: float) -> tuple[np.ndarray, np.ndarray]:
    """(k_y, k_x) in rad/m on the rfft2 grid of an image of ``shape`` with square ``pixel`` (m)."""
    ny, nx = shape
    ky = 2 * np.pi * np.fft.fftfreq(ny, d=pixel)[:, None]
    kx = 2 * np.pi * np.fft.rfftfreq(nx, d=pixel)[None, :]
    return np.broadcast_to(ky, (ny, kx.shape[1])), np.broadcast_to(kx, (ny, kx.shape[1]))


def film_transfer(shape: tuple[int, int], pixel: float, height: float, thickness: float,
                  ms: float, derivative: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Transfer functions (T_x, T_y, T_z) with B_z(k) = Σ_c T_c(k) m_c(k), in tesla.

    ``derivative`` = n multiplies by (−k)^n: ∂ⁿB_z/∂zⁿ, which is what an MFM
    tip (a point dipole along z) senses for n = 1.
    """
    ky, kx = wavevectors(shape, pixel)
    k = np.hypot(kx, ky)
    film = 0.5 * MU0 * ms * np.exp(-k * height) * -np.expm1(-k * thickness) * (-k) ** derivative
    with np.errstate(invalid="ignore", divide="ignore"):
        kxh = np.where(k > 0, kx / k, 0.0)
        kyh = np.where(k > 0, ky / k, 0.0)
    return -1j * kxh * film, -1j * kyh * film, film.astype(np.complex128)


def bz_from_magnetisation(m: np.ndarray, pixel: float, height: float, thickness: float, ms: float,
                          periodic: bool = False, pad: int = 2, derivative: int = 0) -> np.ndarray:
    """B_z (T) at ``height`` (m) above the film, sampled on the grid of ``m`` (pixel in m).

    m: (3, H, W) or (N, 3, H, W), |m| ≤ 1; ms in A/m; thickness in m.
    ``periodic`` treats the image as one period of an infinite film (an LLG
    lattice with periodic boundaries); otherwise the film is the image alone,
    zero-padded to ``pad`` × its size so periodic images of the FFT are far.
    """
    _check_geometry(pixel, height, thickness, ms)
    m = canonical_magnetisation(m)
    ny, nx = m.shape[-2:]
    shape = (ny, nx) if periodic else (pad * ny, pad * nx)
    if not periodic and pad < 1:
        raise InputDataError(f"pad must be ≥ 1, got {pad}")
    spectrum = np.fft.rfft2(m, s=shape)
    tx, ty, tz = film_transfer(shape, pixel, height, thickness, ms, derivative)
    bk = spectrum[..., 0, :, :] * tx + spectrum[..., 1, :, :] * ty + spectrum[..., 2, :, :] * tz
    return np.fft.irfft2(bk, s=shape)[..., :ny, :nx]


def field_scale(height: float, thickness: float, ms: float) -> float:
    """The factor −4π d / (μ0 M_s t) that makes B_z dimensionless and d-, M_s-, t-free (t ≪ d)."""
    _check_geometry(1.0, height, thickness, ms)
    if ms == 0:
        raise InputDataError("ms = 0: a non-magnetic film has no field to scale")
    return -4 * math.pi * height / (MU0 * ms * thickness)


def scaled_field(bz: np.ndarray, height: float, thickness: float, ms: float) -> np.ndarray:
    """b = −4π d B_z / (μ0 M_s t): what the CNN sees (lengths in units of d)."""
    return np.asarray(bz) * field_scale(height, thickness, ms)


def resolution_functions(r: np.ndarray, height: float, thickness: float) -> tuple[np.ndarray, np.ndarray]:
    """α_z = t / (2π (d²+r²)^{1/2}) and α_xy = d t / (2π (d²+r²)^{3/2}) at in-plane distance r (m)."""
    s = np.sqrt(height ** 2 + np.asarray(r, dtype=np.float64) ** 2)
    return thickness / (2 * np.pi * s), height * thickness / (2 * np.pi * s ** 3)


def bz_thin_film_realspace(m: np.ndarray, pixel: float, height: float, thickness: float, ms: float) -> np.ndarray:
    """B_z (T) of an isolated film in the t ≪ d limit, by real-space convolution.

    Independent of the Fourier path on purpose (cross-check): ∇²m_z and
    ∇·m_xy by second-order finite differences (m taken as zero outside the
    image), each convolved with its sampled resolution function.
    """
    from scipy.signal import fftconvolve

    _check_geometry(pixel, height, thickness, ms)
    m = canonical_magnetisation(m)
    if m.ndim != 3:
        raise InputDataError("bz_thin_film_realspace takes one (3, H, W) magnetisation")
    mp = np.pad(m, ((0, 0), (1, 1), (1, 1)))
    c = mp[:, 1:-1, 1:-1]
    lap = (mp[2, 2:, 1:-1] + mp[2, :-2, 1:-1] + mp[2, 1:-1, 2:] + mp[2, 1:-1, :-2] - 4 * c[2]) / pixel ** 2
    div = ((mp[0, 1:-1, 2:] - mp[0, 1:-1, :-2]) + (mp[1, 2:, 1:-1] - mp[1, :-2, 1:-1])) / (2 * pixel)
    ny, nx = c.shape[-2:]
    y = pixel * np.arange(-(ny - 1), ny)[:, None]
    x = pixel * np.arange(-(nx - 1), nx)[None, :]
    az, axy = resolution_functions(np.hypot(x, y), height, thickness)
    area = pixel ** 2
    conv = fftconvolve(lap, az, mode="same") + fftconvolve(div, axy, mode="same")
    return -0.5 * MU0 * ms * area * conv
