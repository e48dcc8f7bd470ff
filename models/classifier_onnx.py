"""The process classifier as an ONNX step model: export, the decision rule, and the session.

A step model maps (profile, h) → (probabilities, h'), batch dynamic. Its
metadata (label names, decision threshold, preprocessing of
:mod:`hil.models.preprocess`, input size, hidden size, version) travels in
the file; :class:`StepSession` refuses a model whose metadata is incomplete
and a frame that does not match it, with a message saying why. The labeller
(:mod:`hil.stream`) and ``hil classify`` both run it through this class.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import numpy as np

from hil.errors import HilError
from hil.labels import UNKNOWN
from hil.models.preprocess import profile
from hil.onnx_io import open_session, write_metadata

REQUIRED_META = ("labels", "threshold", "preprocessing", "input_size", "hidden", "version")
#: The classifier that ships in the package (``hil.models.shipped``): trained on the L = 100 twin, see its metadata.
SHIPPED = "classifier_L100.onnx"


def shipped_model() -> Path:
    """Path of the shipped classifier: what ``hil classify``, ``hil stream label`` and the demo use by default."""
    from importlib.resources import files

    return Path(str(files("hil.models.shipped").joinpath(SHIPPED)))


def _dims(value_info: Any) -> list:
    return [d if isinstance(d, int) else None for d in value_info.shape]


def check_graph(session: Any, meta: Mapping[str, Any], path: str | Path) -> None:
    """Refuse a step model whose graph disagrees with its metadata (names, input size, hidden size, classes).

    Why at load: a mismatched model would otherwise fail on the first frame,
    inside a running labeller.
    """
    ins = {i.name: _dims(i) for i in session.get_inputs()}
    outs = {o.name: _dims(o) for o in session.get_outputs()}
    problems = []
    if set(ins) != {"input", "h"}:
        problems.append(f"inputs are {sorted(ins)}, expected ['h', 'input']")
    if set(outs) != {"output", "h_next"}:
        problems.append(f"outputs are {sorted(outs)}, expected ['h_next', 'output']")
    want = {("input", 1): meta["input_size"], ("h", 1): meta["hidden"], ("output", 1): len(meta["labels"]),
            ("h_next", 1): meta["hidden"]}
    for (name, axis), size in want.items():
        dims = ins.get(name) or outs.get(name)
        if dims is None:
            continue
        if len(dims) != 2:
            problems.append(f"{name} has rank {len(dims)}, expected 2 (batch, features)")
        elif dims[axis] is not None and dims[axis] != size:
            problems.append(f"{name} has {dims[axis]} features, metadata says {size}")
    if problems:
        raise HilError(f"{path}: the graph does not match its metadata: {'; '.join(problems)}; re-export the model")


def decide(probs: np.ndarray, labels: list[str] | tuple[str, ...], threshold: float) -> str:
    """The label of one probability vector: the argmax if it reaches ``threshold``, else unknown."""
    k = int(np.argmax(probs))
    return labels[k] if probs[k] >= threshold else UNKNOWN


def export_step_model(module: Any, path: str | Path, input_size: int, hidden: int,
                      metadata: Mapping[str, Any]) -> Path:
    """Export a torch step module (x, h) → (out, h') to a single ONNX file with metadata."""
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    x = torch.zeros(2, input_size)
    h = torch.zeros(2, hidden)
    batch = torch.export.Dim("batch")
    module = module.eval()
    torch.onnx.export(module, (x, h), str(path), dynamo=True, external_data=False,
                      input_names=["input", "h"], output_names=["output", "h_next"],
                      dynamic_shapes=({0: batch}, {0: batch}), verbose=False)
    meta = dict(metadata, input_size=input_size, hidden=hidden)
    missing = [k for k in REQUIRED_META if k not in meta]
    if missing:
        raise HilError(f"cannot export: metadata lacks {', '.join(missing)}")
    write_metadata(path, meta)
    return path


class StepSession:
    """An ONNX step model in onnxruntime, fed through the shared preprocessing."""

    def __init__(self, path: str | Path | None = None, threads: int = 2):
        path = shipped_model() if path is None else path
        self.path = Path(path)
        self.session, self.meta = open_session(path, threads, "export one with `hil export classifier`")
        missing = [k for k in REQUIRED_META if k not in self.meta]
        if missing:
            raise HilError(f"{path}: model metadata lacks {', '.join(missing)}; re-export it with `hil export`")
        try:
            self.labels: list[str] = [str(x) for x in self.meta["labels"]]
            self.threshold = float(self.meta["threshold"])
            self.input_size = int(self.meta["input_size"])
            self.hidden = int(self.meta["hidden"])
            self.kind = str(self.meta["preprocessing"])
        except (TypeError, ValueError) as exc:
            raise HilError(f"{path}: model metadata has a value of the wrong type ({exc}); re-export it") from None
        if not (self.labels and self.input_size > 0 and self.hidden > 0 and 0 <= self.threshold <= 1):
            raise HilError(f"{path}: model metadata out of range (labels {self.labels}, input_size "
                           f"{self.input_size}, hidden {self.hidden}, threshold {self.threshold}); re-export it")
        check_graph(self.session, self.meta, path)

    def prepare(self, frames: np.ndarray) -> np.ndarray:
        """(N, H, W) frames → (N, input_size), as the model was trained."""
        try:
            return profile(frames, self.kind, self.input_size)
        except ValueError as exc:
            raise HilError(f"frame refused: {exc}") from None

    def initial_state(self, batch: int = 1) -> np.ndarray:
        return np.zeros((batch, self.hidden), dtype=np.float32)

    def step(self, inputs: np.ndarray, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One step on prepared inputs (N, input_size) → (probabilities (N, classes), h')."""
        if inputs.ndim != 2 or inputs.shape[1] != self.input_size:
            raise HilError(f"input of shape {inputs.shape} refused: the model expects (N, {self.input_size})")
        out, h_next = self.session.run(None, {"input": inputs.astype(np.float32, copy=False), "h": h})
        return out, h_next

    def run_batch(self, frames: np.ndarray) -> np.ndarray:
        """(N, T, H, W) frames of N processes → probabilities at every frame (N, T, classes)."""
        frames = np.asarray(frames)
        if frames.ndim != 4:
            raise HilError(f"expected (processes, frames, H, W), got shape {frames.shape}")
        n, t = frames.shape[:2]
        xs = self.prepare(frames.reshape(n * t, *frames.shape[2:])).reshape(n, t, -1)
        h = self.initial_state(n)
        out = []
        for k in range(t):
            p, h = self.step(xs[:, k], h)
            out.append(p)
        return np.stack(out, axis=1)

    def run_sequence(self, frames: np.ndarray) -> np.ndarray:
        """(T, H, W) frames of one process → probabilities at every frame (T, classes)."""
        return self.run_batch(np.asarray(frames)[None])[0]

    def decide(self, probs: np.ndarray) -> str:
        return decide(probs, self.labels, self.threshold)
