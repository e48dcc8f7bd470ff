"""The one preprocessing of S_z frames for the process classifier.

The trainer, the offline classifier and the streaming labeller all call
:func:`profile`, driven by the model's metadata, so a frame is prepared the
same way everywhere. Sorting makes the input invariant to where the skyrmion
sits (any permutation of the lattice gives the same profile); resampling the
sorted profile to a fixed number of quantiles makes one model serve any
lattice or camera size. Sorting lives here, in numpy, not in the ONNX graph:
TopK in the graph measured ~50× slower than ``np.sort`` on these machines.

Sorting also forgets where the reversed spins are, and that is what tells a
mixed process (two skyrmions, a skyrmion beside a stripe) from a clear one
with the same S_z histogram. ``kind="quantiles+regions"`` appends
:data:`REGION_FEATURES` shape numbers to the quantiles: how many reversed
regions the frame holds and how much of the reversed area lies outside the
largest one (:func:`region_features`; the lattice is read as periodic, like
the twin's).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from hil.regions import MIN_REGION, region_sizes

KINDS = ("sorted", "quantiles", "quantiles+regions")
#: Shape numbers appended by ``quantiles+regions`` (see :func:`region_features`).
REGION_FEATURES = 4


def profile(frames: np.ndarray, kind: str, size: int) -> np.ndarray:
    """(N, H, W) frames or (N, H·W) rows of S_z → (N, size) float32 classifier input.

    A single frame is (1, H, W); 2-D input is read as already-flat rows.

    ``kind="sorted"``: the sorted S_z of every spin; ``size`` must equal H·W.
    ``kind="quantiles"``: ``size`` evenly spaced quantiles of it (midpoints
    (k + ½)/size, linear interpolation), for any H·W ≥ 2.
    ``kind="quantiles+regions"``: ``size − REGION_FEATURES`` quantiles, then
    :func:`region_features` (needs (N, H, W) frames: regions need the image).
    """
    frames = np.asarray(frames, dtype=np.float32)
    if frames.ndim < 2:
        raise ValueError(f"expected (N, H, W) frames or (N, H·W) rows, got shape {frames.shape}")
    flat = frames.reshape(*frames.shape[:-2], -1) if frames.ndim >= 3 else frames
    if not np.all(np.isfinite(flat)):
        raise ValueError("frame contains NaN or inf")
    n = flat.shape[-1]
    ordered = np.sort(flat, axis=-1)
    if kind == "sorted":
        if n != size:
            raise ValueError(f"the model expects {size} spins per frame (sorted profile); this frame has {n}")
        return ordered
    if kind in ("quantiles", "quantiles+regions"):
        if n < 2:
            raise ValueError("quantile resampling needs at least 2 values per frame")
        n_q = size if kind == "quantiles" else size - REGION_FEATURES
        if n_q < 1:
            raise ValueError(f"{kind} needs more than {REGION_FEATURES} inputs, got {size}")
        lo, hi, w = _quantile_weights(n, n_q)
        quantiles = ordered[..., lo] * (1 - w) + ordered[..., hi] * w
        if kind == "quantiles":
            return quantiles
        if frames.ndim < 3 or min(frames.shape[-2:]) < 2:
            raise ValueError(f"{kind} needs (N, H, W) frames of at least 2 × 2 spins, got shape {frames.shape}")
        median = 0.5 * (ordered[..., (n - 1) // 2] + ordered[..., n // 2])  # the sort gives it for free
        return np.concatenate([quantiles, region_features(frames, median)], axis=-1)
    raise ValueError(f"unknown preprocessing {kind!r}; known: {', '.join(KINDS)}")


def input_size(kind: str, quantiles: int, spins: int) -> int:
    """The classifier input width for a preprocessing: ``spins`` (H·W) sorted values, ``quantiles``
    quantiles, or the quantiles plus :data:`REGION_FEATURES`."""
    sizes = {"sorted": spins, "quantiles": quantiles, "quantiles+regions": quantiles + REGION_FEATURES}
    if kind not in sizes:
        raise ValueError(f"unknown preprocessing {kind!r}; known: {', '.join(KINDS)}")
    return sizes[kind]


@lru_cache(maxsize=32)
def _quantile_weights(n: int, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Neighbouring ranks and weights of ``size`` midpoint quantiles of ``n`` sorted values (cached: per frame it is the hot path)."""
    pos = (np.arange(size, dtype=np.float64) + 0.5) / size * n - 0.5
    lo = np.clip(np.floor(pos).astype(np.int64), 0, n - 1)
    hi = np.clip(lo + 1, 0, n - 1)
    w = np.clip(pos - lo, 0.0, 1.0).astype(np.float32)
    for a in (lo, hi, w):
        a.flags.writeable = False
    return lo, hi, w


def region_features(frames: np.ndarray, median: np.ndarray | None = None) -> np.ndarray:
    """(…, H, W) S_z → (…, 4) float32: regions reversed against the frame's background, and their spread.

    Features 0–2: one-hot "no / one / several" reversed regions of ≥
    :data:`MIN_REGION` spins (as a plain count the net could not use it).
    Feature 3: the fraction of the reversed spins (in those regions) that lie
    outside the largest one — 0 for one skyrmion, large for several. The
    background is the sign of the frame's median S_z (``median``, (…,), when
    the caller has it already: :func:`profile` takes it from its sort).
    """
    frames = np.asarray(frames, dtype=np.float32)
    lead, (h, w) = frames.shape[:-2], frames.shape[-2:]
    flat = frames.reshape(-1, h, w)
    median = np.median(flat.reshape(len(flat), -1), axis=1) if median is None else np.reshape(median, len(flat))
    up = (median >= 0)[:, None, None]
    reversed_ = np.where(up, flat < 0, flat > 0)  # against the background: below it when it is up, above when down
    frame_of, sizes = region_sizes(reversed_, periodic=True)
    big = sizes >= MIN_REGION
    frame_of, sizes = frame_of[big], sizes[big]  # frame_of stays in frame order
    n = len(flat)
    count = np.bincount(frame_of, minlength=n)
    total = np.bincount(frame_of, weights=sizes, minlength=n)
    largest = np.zeros(n)
    if len(sizes):
        starts = np.flatnonzero(np.r_[True, frame_of[1:] != frame_of[:-1]])
        largest[frame_of[starts]] = np.maximum.reduceat(sizes, starts)
    spread = np.divide(total - largest, total, out=np.zeros(n), where=total > 0)
    out = np.empty((n, REGION_FEATURES), dtype=np.float32)
    out[:, 0], out[:, 1], out[:, 2], out[:, 3] = count == 0, count == 1, count >= 2, spread
    return out.reshape(*lead, REGION_FEATURES)
