"""Connected regions of reversed spins, on a plane or a torus, for many frames at once.

One counting serves two readers: the physics label of a finished process
(:mod:`hil.sim.llg.labels`: one skyrmion is one reversed region) and the
classifier's shape features (:mod:`hil.models.preprocess`: several regions
are what a mixed process looks like). It lives in the base layer because the
simulator and the models may not import each other.

Regions are 4-connected. On a torus (periodic lattice) a region that leaves
one edge and comes back on the opposite edge is one region: the wrap edges
are merged through the few label pairs that meet across an edge; there is
no Python loop over spins or frames.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

#: Reversed regions smaller than this (spins) are noise, not a skyrmion: the physics label and the
#: classifier's features count only regions at least this big.
MIN_REGION = 3

#: 4-neighbour connectivity inside each frame, none across frames.
_FRAMEWISE = np.zeros((3, 3, 3), dtype=bool)
_FRAMEWISE[1] = ndimage.generate_binary_structure(2, 1)


def region_sizes(mask: np.ndarray, periodic: bool) -> tuple[np.ndarray, np.ndarray]:
    """Every region of True spins in ``mask`` (N, H, W): (frame index, size in spins) per region.

    Regions are listed frame by frame; sizes are spin counts.
    """
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 3:
        raise ValueError(f"mask must be (frames, H, W), got shape {mask.shape}")
    frames = mask.shape[0]
    lab, n = ndimage.label(mask if frames > 1 else mask[0], structure=_FRAMEWISE if frames > 1 else None)
    lab = lab.reshape(mask.shape)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    counts = np.bincount(lab.ravel(), minlength=n + 1)[1:]
    if frames == 1:
        frame_of = np.zeros(n, dtype=np.int64)
    else:  # labels are numbered frame by frame: frame f holds those up to the running maximum of its labels
        last = np.maximum.accumulate(lab.reshape(frames, -1).max(axis=1))
        frame_of = np.searchsorted(last, np.arange(1, n + 1))
    if not periodic:
        return frame_of, counts
    a = np.concatenate([lab[:, 0, :].ravel(), lab[:, :, 0].ravel()])
    b = np.concatenate([lab[:, -1, :].ravel(), lab[:, :, -1].ravel()])
    both = (a > 0) & (b > 0)
    if not both.any():
        return frame_of, counts
    pairs = np.unique(a[both].astype(np.int64) * (n + 1) + b[both])  # few: the regions that touch an edge
    root = np.arange(n + 1)
    for i, j in zip((pairs // (n + 1)).tolist(), (pairs % (n + 1)).tolist()):
        ri, rj = _root(root, i), _root(root, j)
        if ri != rj:
            root[max(ri, rj)] = min(ri, rj)
    while True:  # point every label at its root
        nxt = root[root]
        if np.array_equal(nxt, root):
            break
        root = nxt
    keep = root[1:] == np.arange(1, n + 1)
    sizes = np.bincount(root[1:], weights=counts, minlength=n + 1)[1:][keep].astype(np.int64)
    return frame_of[keep], sizes


def _root(root: np.ndarray, i: int) -> int:
    while root[i] != i:
        i = int(root[i])
    return i


def count_regions(mask: np.ndarray, periodic: bool, min_size: int = MIN_REGION) -> np.ndarray:
    """Regions of at least ``min_size`` spins in each frame of ``mask`` (N, H, W) → (N,) int."""
    frames, sizes = region_sizes(mask, periodic)
    return np.bincount(frames[sizes >= min_size], minlength=np.shape(mask)[0])


def sizes_in_frame(mask: np.ndarray, periodic: bool, min_size: int = 1) -> list[int]:
    """Sizes of the regions of one frame (H, W), largest first, those below ``min_size`` left out."""
    _, sizes = region_sizes(np.asarray(mask)[None], periodic)
    return sorted((int(s) for s in sizes if s >= min_size), reverse=True)
