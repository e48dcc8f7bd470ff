"""Skyrmion processes read back from the store, for training and evaluating the classifier.

A process is one record of a ``process_diagram`` run (or any run whose
records hold ``frames`` (T, H, W) S_z and a physics ``label``). Points of a
diagram carry their grid position, which :func:`interior` uses to keep only
the points deep inside a region: the published training set takes processes
from the interior of the breathing, switching and collapse regions, where
the physics label is unambiguous.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hil.errors import HilError
from hil.store import Store


@dataclass
class Processes:
    """N processes of equal frame count: frames (N, T, H, W) float32 S_z, physics labels, provenance."""

    frames: np.ndarray
    labels: list[str]
    alpha: np.ndarray
    t_w: np.ndarray  # s
    ids: list[str]  # "<file>:<run id>/<record index>"
    run_ids: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, keep: np.ndarray) -> "Processes":
        keep = np.flatnonzero(np.asarray(keep)) if np.asarray(keep).dtype == bool else np.asarray(keep)
        return Processes(self.frames[keep], [self.labels[i] for i in keep], self.alpha[keep], self.t_w[keep],
                         [self.ids[i] for i in keep], self.run_ids)

    def counts(self) -> dict[str, int]:
        names, n = np.unique(self.labels, return_counts=True)
        return {str(k): int(v) for k, v in zip(names, n)}


def read_processes(path: str | Path, run_id: str | None = None) -> Processes:
    """Every complete record of one run (the only run in the file when ``run_id`` is None)."""
    path = Path(path)
    with Store(path, "r") as store:
        ids = store.run_ids()
        if run_id is None:
            if len(ids) != 1:
                raise HilError(f"{path}: holds {len(ids)} runs ({', '.join(ids) or 'none'}); name one with --run")
            run_id = ids[0]
        run = store.run(run_id)
        records = list(run.records())
    if not records:
        raise HilError(f"{path}: run {run_id} has no complete records")
    missing = [k for k in ("frames", "label") if k not in records[0].data and k not in records[0].attrs]
    if missing:
        raise HilError(f"{path}: run {run_id} records lack {', '.join(missing)}; not a run of processes")
    shapes = {np.shape(r["frames"]) for r in records}
    if len(shapes) != 1:
        raise HilError(f"{path}: run {run_id} mixes frame stacks of shapes {sorted(shapes)}")
    get = lambda r, k: float(r[k]) if (k in r.data or k in r.attrs) else np.nan  # noqa: E731
    return Processes(
        frames=np.stack([np.asarray(r["frames"], dtype=np.float32) for r in records]),
        labels=[str(r["label"]) for r in records],
        alpha=np.array([get(r, "alpha") for r in records]),
        t_w=np.array([get(r, "t_w") for r in records]),
        ids=[f"{path.name}:{run_id}/{r.index}" for r in records],
        run_ids=[run_id],
    )


def interior(p: Processes) -> np.ndarray:
    """Mask of diagram points whose grid neighbours (up, down, left, right) all share their label."""
    alphas, widths = np.unique(p.alpha), np.unique(p.t_w)
    grid = {(a, w): lab for a, w, lab in zip(p.alpha, p.t_w, p.labels)}
    keep = np.zeros(len(p), dtype=bool)
    for k, (a, w, lab) in enumerate(zip(p.alpha, p.t_w, p.labels)):
        i, j = np.searchsorted(alphas, a), np.searchsorted(widths, w)
        nbrs = [(i + di, j + dj) for di, dj in ((1, 0), (-1, 0), (0, 1), (0, -1))]
        keep[k] = all(grid.get((alphas[x], widths[y]), lab) == lab
                      for x, y in nbrs if 0 <= x < len(alphas) and 0 <= y < len(widths))
    return keep
