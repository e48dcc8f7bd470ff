"""Reversed-region counting (hil.regions) and the classifier's region features built on it."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from hil.models.preprocess import REGION_FEATURES, input_size, profile, region_features
from hil.regions import count_regions, region_sizes, sizes_in_frame


def disk(L: int, cx: float, cy: float, r: float) -> np.ndarray:
    """Boolean disk of radius r (lattice units) centred at (cx, cy), wrapping across the edges."""
    y, x = np.mgrid[:L, :L]
    dx = np.minimum(np.abs(x - cx), L - np.abs(x - cx))
    dy = np.minimum(np.abs(y - cy), L - np.abs(y - cy))
    return dx ** 2 + dy ** 2 <= r ** 2


def skyrmions(L: int, centres, r: float = 4.0, background: float = 1.0) -> np.ndarray:
    """S_z frame: ``background`` everywhere, −background inside each disk."""
    sz = np.full((L, L), background, dtype=np.float32)
    for cx, cy in centres:
        sz[disk(L, cx, cy, r)] = -background
    return sz


def test_a_disk_across_the_edge_is_one_region_on_a_torus_and_two_on_a_plane():
    mask = disk(32, 0.0, 16.0, 5.0)  # centred on the left edge: half on each side
    assert sizes_in_frame(mask, periodic=True) == [int(mask.sum())]
    assert len(sizes_in_frame(mask, periodic=False)) == 2
    corner = disk(32, 0.0, 0.0, 5.0)  # on a corner: four pieces on a plane
    assert len(sizes_in_frame(corner, periodic=False)) == 4
    assert count_regions(corner[None], periodic=True).tolist() == [1]


def test_frames_of_a_batch_never_merge_and_match_one_by_one():
    rng = np.random.default_rng(3)
    masks = rng.random((12, 20, 20)) < 0.45  # many ragged regions, many touching the edges
    masks[4] = masks[3]  # two equal frames in a row stay two frames
    for periodic in (True, False):
        batch = count_regions(masks, periodic, min_size=3)
        one_by_one = [count_regions(m[None], periodic, min_size=3)[0] for m in masks]
        assert batch.tolist() == one_by_one
        frames, sizes = region_sizes(masks, periodic)
        assert np.bincount(frames, weights=sizes, minlength=12).tolist() == masks.sum(axis=(1, 2)).tolist()
    plane = [len(sizes_in_frame(m, False)) for m in masks]
    assert plane == [ndimage.label(m)[1] for m in masks]


def test_small_regions_are_noise_and_empty_frames_have_none():
    mask = np.zeros((2, 16, 16), dtype=bool)
    mask[0, 3, 3] = mask[0, 3, 4] = True  # two spins: below the default three
    mask[0, 8:11, 8:11] = True
    assert count_regions(mask, periodic=True).tolist() == [1, 0]
    assert count_regions(mask, periodic=True, min_size=1).tolist() == [2, 0]
    with pytest.raises(ValueError, match="frames, H, W"):
        region_sizes(mask[0, 0], periodic=True)


def test_region_features_tell_one_skyrmion_from_two_and_from_none():
    L = 40
    one = skyrmions(L, [(10, 10)])
    two = skyrmions(L, [(10, 10), (30, 28)])
    none = skyrmions(L, [])
    reversed_film = skyrmions(L, [(20, 20)], background=-1.0)  # switched: the skyrmion now points up
    f = region_features(np.stack([one, two, none, reversed_film]))
    assert f.shape == (4, REGION_FEATURES) and f.dtype == np.float32
    assert f[0].tolist() == [0, 1, 0, 0]
    assert f[1, :3].tolist() == [0, 0, 1] and f[1, 3] == pytest.approx(0.5, abs=0.05)
    assert f[2].tolist() == [1, 0, 0, 0]
    assert f[3].tolist() == [0, 1, 0, 0]
    # a skyrmion moved anywhere gives the same features (and the same sorted profile)
    moved = skyrmions(L, [(33, 5)])
    assert region_features(moved[None]).tolist() == region_features(one[None]).tolist()


def test_quantiles_plus_regions_profile_is_the_quantiles_then_the_features():
    frames = np.stack([skyrmions(24, [(5, 5)]), skyrmions(24, [(5, 5), (17, 17)])])
    both = profile(frames, "quantiles+regions", 32 + REGION_FEATURES)
    assert both.shape == (2, 32 + REGION_FEATURES)
    np.testing.assert_array_equal(both[:, :32], profile(frames, "quantiles", 32))
    np.testing.assert_array_equal(both[:, 32:], region_features(frames))
    assert both[0, 32 + 1] == 1 and both[1, 32 + 2] == 1  # one region, then several
    with pytest.raises(ValueError, match="more than"):
        profile(frames, "quantiles+regions", REGION_FEATURES)
    with pytest.raises(ValueError, match="H, W"):
        profile(frames.reshape(2, -1), "quantiles+regions", 36)  # flat rows: no image, no regions


def test_input_size_follows_the_preprocessing():
    assert [input_size(k, 256, 10_000) for k in ("sorted", "quantiles", "quantiles+regions")] == [10_000, 256, 260]
    with pytest.raises(ValueError, match="unknown preprocessing"):
        input_size("histogram", 256, 10_000)
