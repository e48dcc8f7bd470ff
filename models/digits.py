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


def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """(1797, 64) pixels 0..16 and labels, read from the file scikit-learn ships.

    Read directly (no ``import sklearn``: that import costs seconds, the file
    is a 60 kB CSV of 64 pixels + the label per row); same data as
    ``sklearn.datasets.load_digits``, checked in tests/test_oscillator_net.py.
    """
    import gzip
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("sequential digits need scikit-learn's data file: pip install scikit-learn")
    path = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data" / "digits.csv.gz"
    with gzip.open(path, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.float32)
    return table[:, :-1], table[:, -1].astype(np.int64)


def load_digits_sequences(split_seed: int = 0, limit: int | None = None) -> Digits:
    """The 50/50 split of the digits as pixel sequences; ``limit`` keeps the first N (tests)."""
    pixels, labels = _digits_arrays()
    x = pixels / 16.0
    y = labels
    order = np.random.default_rng(split_seed).permutation(len(y))
    if limit is not None:
        order = order[:limit]
    half = len(order) // 2
    tr, te = order[:half], order[half:]
    return Digits(torch.from_numpy(x[tr]), torch.from_numpy(y[tr]), torch.from_numpy(x[te]), torch.from_numpy(y[te]))
