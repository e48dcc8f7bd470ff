"""Stray-field forward model: closed-form disk, real-space resolution functions, scale invariance, twin."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from hil.errors import InputDataError
from hil.sim.stray import (MU0, ScanSettings, bz_from_magnetisation, bz_thin_film_realspace, disk_bz,
                       disk_bz_on_axis, equivalent_texture, scaled_field, scan)

D = 20e-9  # sensor height, m
MS = 8e5   # A/m


def _grid(n: int, pixel: float) -> tuple[np.ndarray, np.ndarray]:
    c = (np.arange(n) - (n - 1) / 2) * pixel
    y, x = np.meshgrid(c, c, indexing="ij")
    return x, y


def _disk(n: int, pixel: float, radius: float, sub: int = 8) -> np.ndarray:
    """Area fraction of each pixel inside the disk (supersampled), so the edge is not a staircase."""
    x, y = _grid(n * sub, pixel / sub)
    inside = (x ** 2 + y ** 2 < radius ** 2).astype(float)
    return inside.reshape(n, sub, n, sub).mean(axis=(1, 3))


def test_on_axis_closed_form_matches_hankel_integral():
    heights = np.array([0.3, 1.0, 2.5]) * D
    closed = disk_bz_on_axis(heights, 2 * D, 0.4 * D, MS)
    hankel = np.array([disk_bz(0.0, 0.0, h, 2 * D, 0.4 * D, MS) for h in heights])
    np.testing.assert_allclose(hankel, closed, rtol=1e-8)
    # a thick disk's centre field tends to μ0 M_s / 2 · (1 − …) > 0, and grows with thickness
    assert np.all(closed > 0) and disk_bz_on_axis(D, 2 * D, 0.8 * D, MS) > closed[1]


@pytest.mark.parametrize("direction, vector", [("z", (0, 0, 1)), ("x", (1, 0, 0))])
def test_fourier_model_matches_uniform_disk(direction, vector):
    n, pixel, radius, t = 97, D / 8, 2 * D, 0.25 * D
    m = _disk(n, pixel, radius)[None] * np.array(vector, float)[:, None, None]
    bz = bz_from_magnetisation(m, pixel, D, t, MS, pad=3)
    x, y = _grid(n, pixel)
    row = n // 2 + 3  # off the axis, so the x-disk's field is not zero by symmetry
    ref = disk_bz(x[row, ::3], y[row, ::3], D, radius, t, MS, direction=direction)
    peak = np.abs(ref).max()
    assert peak > 1e-4  # tesla: a real field, not two zeros agreeing
    assert np.abs(bz[row, ::3] - ref).max() < 0.01 * peak
    if direction == "z":
        centre = bz[n // 2, n // 2]
        assert centre == pytest.approx(disk_bz_on_axis(D, radius, t, MS), rel=0.01)
    else:  # charges +M_s on the +x rim: field up at +x, down at −x
        assert bz[n // 2, n - 1 - 30] > 0 > bz[n // 2, 30]


def _smooth_texture(n: int, pixel: float) -> np.ndarray:
    x, y = _grid(n, pixel)
    g = np.exp(-(x ** 2 + y ** 2) / (2 * (1.2 * D) ** 2))
    m = np.stack([0.5 * g * x / D, 0.3 * g, 0.6 * g * (1 - x ** 2 / (4 * D ** 2))])
    assert np.sqrt((m ** 2).sum(0)).max() <= 1
    return m


def test_thin_film_limit_matches_realspace_resolution_functions():
    pixel = D / 10
    m = _smooth_texture(128, pixel)
    t = 1e-3 * D
    exact = bz_from_magnetisation(m, pixel, D, t, MS, pad=4)
    real = bz_thin_film_realspace(m, pixel, D, t, MS)
    assert np.abs(exact - real).max() < 0.01 * np.abs(exact).max()
    # and the check has teeth: at t = 0.5 d the thin-film formula is visibly wrong
    thick_exact = bz_from_magnetisation(m, pixel, D, 0.5 * D, MS, pad=4)
    thick_real = bz_thin_film_realspace(m, pixel, D, 0.5 * D, MS)
    assert np.abs(thick_exact - thick_real).max() > 0.05 * np.abs(thick_exact).max()


def test_scaled_field_is_invariant_under_height_moment_and_thickness():
    n = 64
    unit = _smooth_texture(n, D / 8)  # the same texture in units of d, whatever d is
    fields = []
    for d, ms in ((20e-9, 8e5), (55e-9, 3e5)):
        bz = bz_from_magnetisation(unit, d / 8, d, 0.05 * d, ms)
        fields.append(scaled_field(bz, d, 0.05 * d, ms))
    assert np.abs(fields[0]).max() > 0.1
    np.testing.assert_allclose(fields[1], fields[0], atol=1e-9 * np.abs(fields[0]).max())
    # t ≪ d: the scaled field barely depends on t, the raw field is proportional to it
    raw = [bz_from_magnetisation(unit, D / 8, D, t, MS) for t in (0.005 * D, 0.01 * D)]
    assert np.abs(raw[1]).max() == pytest.approx(2 * np.abs(raw[0]).max(), rel=0.02)
    scaled = [scaled_field(r, D, t, MS) for r, t in zip(raw, (0.005 * D, 0.01 * D))]
    assert np.abs(scaled[1] - scaled[0]).max() < 0.01 * np.abs(scaled[0]).max()


def test_bad_magnetisation_is_refused_with_the_remedy():
    m = np.zeros((3, 8, 8))
    m[2, 3, 3] = np.nan
    with pytest.raises(InputDataError, match="NaN"):
        bz_from_magnetisation(m, 1e-9, D, 1e-9, MS)
    with pytest.raises(InputDataError, match="ms"):
        bz_from_magnetisation(np.full((3, 8, 8), 0.8), 1e-9, D, 1e-9, MS)
    with pytest.raises(InputDataError, match=r"\(3, H, W\)"):
        bz_from_magnetisation(np.zeros((8, 8)), 1e-9, D, 1e-9, MS)
    with pytest.raises(InputDataError, match="height"):
        bz_from_magnetisation(np.zeros((3, 8, 8)), 1e-9, -D, 1e-9, MS)


@pytest.fixture(scope="module")
def skyrmion() -> np.ndarray:
    from hil.sim.llg import LatticeParams, relaxed_skyrmion

    return relaxed_skyrmion(LatticeParams(L=48))


def test_scan_twin_of_a_bloch_skyrmion_sees_only_its_out_of_plane_part(skyrmion):
    settings = ScanSettings(height=20e-9, pixel=10e-9, pixels=32, thickness=1e-9, ms=MS, cell=10e-9)
    centre = (23.5, 23.5)  # pixel centres on lattice sites 8 … 39, to compare with the lattice-grid field
    image = scan(skyrmion, settings, centre=centre)
    assert image.shape == (32, 32)
    # core +z over a −z background: field up over the core, down in a ring around it
    assert image[16, 16] > 0 and image.min() < 0
    # the twin's field equals that of the texture (1 + m_z)/2 with 2 M_s (Bloch: ∇·m_xy = 0)
    eq = np.zeros_like(skyrmion)
    eq[2] = 0.5 * (1 + skyrmion[2])
    direct = bz_from_magnetisation(eq, 10e-9, 20e-9, 1e-9, 2 * MS, periodic=True)
    assert np.abs(image - direct[8:40, 8:40]).max() < 5e-3 * np.abs(image).max()
    truth = equivalent_texture(skyrmion, settings, centre=centre)
    assert truth.max() > 0.9 and abs(truth[0, 0]) < 0.01


def test_scan_twin_noise_and_mfm_gradient(skyrmion):
    base = ScanSettings(height=20e-9, pixel=10e-9, pixels=32, thickness=1e-9, ms=MS, cell=10e-9)
    clean = scan(skyrmion, base)
    noisy = scan(skyrmion, replace(base, noise=5e-6), rng=np.random.default_rng(1))
    assert np.std(noisy - clean) == pytest.approx(5e-6, rel=0.1)
    h = 0.1e-9
    up = scan(skyrmion, replace(base, height=base.height + h))
    down = scan(skyrmion, replace(base, height=base.height - h))
    mfm = scan(skyrmion, replace(base, sensor="mfm"))
    np.testing.assert_allclose(mfm, (up - down) / (2 * h), atol=1e-4 * np.abs(mfm).max())
    assert MU0 == pytest.approx(1.25663706e-6, rel=1e-8)
