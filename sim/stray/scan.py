"""Measurement twin: what an NV magnetometer or an MFM would record above the LLG sample.

The LLG lattice is read as a film: each spin stands for a ``cell`` × ``cell``
patch of a film of thickness t and saturation magnetisation M_s (periodic,
like the lattice). The field is computed on the lattice grid (exact Fourier
expression), then read at the scan's pixel centres — a point sensor — by
cubic interpolation, and Gaussian noise of ``noise`` (T, or T/m for MFM) rms
per pixel is added. NV measures B_z; MFM (point-dipole tip along z) measures
∂B_z/∂z, whose sign convention is the field gradient's.

Physics note for the skyrmion: the uniform background of a periodic film has
no field, and a Bloch texture (D_ij ∥ r_ij) has ∇·m_xy = 0, so B_z is that of
the out-of-plane texture (1 + m_z)/2 with twice M_s. :func:`equivalent_texture`
gives that map, the truth a reconstruction of the scan can be judged against.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hil.errors import InputDataError

from .forward import bz_from_magnetisation, canonical_magnetisation


@dataclass(frozen=True)
class ScanSettings:
    """One scan. SI units: lengths in m, M_s in A/m, noise in T (NV) or T/m (MFM)."""

    height: float = 20e-9       # sensor above the film's top surface, m
    pixel: float = 10e-9        # scan pixel, m
    pixels: int = 32            # scan is pixels × pixels
    thickness: float = 1e-9     # film thickness, m
    ms: float = 1.0e6           # saturation magnetisation, A/m
    cell: float = 10e-9         # lattice constant the LLG spins stand for, m
    noise: float = 0.0          # rms per pixel
    sensor: str = "nv"          # "nv": B_z; "mfm": ∂B_z/∂z

    def __post_init__(self) -> None:
        for name in ("height", "pixel", "thickness", "cell"):
            if not getattr(self, name) > 0:
                raise InputDataError(f"scan {name} must be > 0 m, got {getattr(self, name)!r}")
        if self.noise < 0 or self.pixels < 1:
            raise InputDataError(f"scan noise must be ≥ 0 and pixels ≥ 1 ({self})")
        if self.sensor not in ("nv", "mfm"):
            raise InputDataError(f"unknown sensor {self.sensor!r}; known: mfm, nv")


def scan_points(spins_shape: tuple[int, int], settings: ScanSettings,
                centre: tuple[float, float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Pixel centres as (row, column) lattice coordinates; ``centre`` (row, col) defaults to the lattice centre."""
    ny, nx = spins_shape
    cy, cx = centre if centre is not None else (ny / 2, nx / 2)
    offs = (np.arange(settings.pixels) - (settings.pixels - 1) / 2) * settings.pixel / settings.cell
    rows, cols = np.meshgrid(cy + offs, cx + offs, indexing="ij")
    return rows, cols


def _sample(image: np.ndarray, rows: np.ndarray, cols: np.ndarray, order: int) -> np.ndarray:
    from scipy.ndimage import map_coordinates

    return map_coordinates(image, [rows, cols], order=order, mode="grid-wrap")


def scan(spins: np.ndarray, settings: ScanSettings, centre: tuple[float, float] | None = None,
         rng: np.random.Generator | int | None = None) -> np.ndarray:
    """The scan image (pixels × pixels) of a periodic (3, L, L) spin texture, noise included.

    The noise comes from ``rng`` (a generator, or an int seed); without one it is seed 0's —
    never fresh OS entropy, so a scan is reproducible unless asked otherwise."""
    spins = canonical_magnetisation(spins)
    if spins.ndim != 3:
        raise InputDataError("scan takes one (3, L, L) texture")
    field = bz_from_magnetisation(spins, pixel=settings.cell, height=settings.height,
                                  thickness=settings.thickness, ms=settings.ms, periodic=True,
                                  derivative=1 if settings.sensor == "mfm" else 0)
    rows, cols = scan_points(spins.shape[-2:], settings, centre)
    image = _sample(field, rows, cols, order=3)
    if settings.noise > 0:
        rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(0 if rng is None else rng)
        image = image + rng.normal(0.0, settings.noise, size=image.shape)
    return image


def equivalent_texture(spins: np.ndarray, settings: ScanSettings,
                       centre: tuple[float, float] | None = None) -> np.ndarray:
    """(m_z − m_bg)/2 at the scan pixels (m_bg = ±1, the background's sign; (1 + m_z)/2 for the
    relaxed skyrmion): the out-of-plane texture whose B_z with 2 M_s equals the sample's."""
    spins = canonical_magnetisation(spins)
    background = 1.0 if np.median(spins[2]) >= 0 else -1.0
    rows, cols = scan_points(spins.shape[-2:], settings, centre)
    return _sample(0.5 * (spins[2] - background), rows, cols, order=1)
