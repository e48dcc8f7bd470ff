"""Sequential digits: scikit-learn's 8 × 8 digits fed pixel by pixel.

The 1797 images ship inside scikit-learn (no download). Each becomes a
sequence of 64 input values in [0, 1] (pixel / 16, row by row), one per
input step. The split is 50/50, shuffled with a fixed seed so every
benchmark and test sees the same halves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class Digits:
    """Train and test halves: inputs (N, 64) float32 in [0, 1], labels (N,) int64."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def load_digits_sequences(split_seed: int = 0, limit: int | None = None) -> Digits:
    """The 50/50 split of the digits as pixel sequences; ``limit`` keeps the first N (tests)."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:  # a dependency, but say what to do if it is missing
        raise ImportError("sequential digits need scikit-learn: pip install scikit-learn") from exc
    data = load_digits()
    x = np.asarray(data.data, dtype=np.float32) / 16.0
    y = np.asarray(data.target, dtype=np.int64)
    order = np.random.default_rng(split_seed).permutation(len(y))
    if limit is not None:
        order = order[:limit]
    half = len(order) // 2
    tr, te = order[:half], order[half:]
    return Digits(torch.from_numpy(x[tr]), torch.from_numpy(y[tr]), torch.from_numpy(x[te]), torch.from_numpy(y[te]))
