"""The one preprocessing of S_z frames for the process classifier.

The trainer, the offline classifier and the streaming labeller all call
:func:`profile`, driven by the model's metadata, so a frame is prepared the
same way everywhere. Sorting makes the input invariant to where the skyrmion
sits (any permutation of the lattice gives the same profile); resampling the
sorted profile to a fixed number of quantiles makes one model serve any
lattice or camera size. Sorting lives here, in numpy, not in the ONNX graph:
TopK in the graph measured ~50× slower than ``np.sort`` on these machines.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

KINDS = ("sorted", "quantiles")


def profile(frames: np.ndarray, kind: str, size: int) -> np.ndarray:
    """(N, H, W) frames or (N, H·W) rows of S_z → (N, size) float32 classifier input.

    A single frame is (1, H, W); 2-D input is read as already-flat rows.

    ``kind="sorted"``: the sorted S_z of every spin; ``size`` must equal H·W.
    ``kind="quantiles"``: ``size`` evenly spaced quantiles of it (midpoints
    (k + ½)/size, linear interpolation), for any H·W ≥ 2.
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
    if kind == "quantiles":
        if n < 2:
            raise ValueError("quantile resampling needs at least 2 values per frame")
        lo, hi, w = _quantile_weights(n, size)
        return ordered[..., lo] * (1 - w) + ordered[..., hi] * w
    raise ValueError(f"unknown preprocessing {kind!r}; known: {', '.join(KINDS)}")


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
