"""The RK4 step of a Spin-NODE as an ONNX model, and its rollout in onnxruntime.

The exported graph is one sample's step, (state (B, k), inputs u[i … i+k]
(B, k+1, m)) → state at i+1, batch dynamic, in normalised units; the
model's metadata (normalisation, names, units, interval) travels in the file
as JSON ``metadata_props``, as ``hil.onnx_io`` does for the classifier. A
rollout is a loop of ``session.run`` over the samples. onnxruntime runs with
thread spinning off (it slows torch in the same process badly otherwise).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hil.errors import HilError
from hil.onnx_io import open_session, write_metadata
from hil.models.spin_node.model import SpinNODE


class _Step(torch.nn.Module):
    """Exposes only ``SpinNODE.step`` to the exporter."""

    def __init__(self, node: SpinNODE):
        super().__init__()
        self.node = node

    def forward(self, s: torch.Tensor, window: torch.Tensor) -> torch.Tensor:
        return self.node.step(s, window)


def export_step(model: SpinNODE, path: str | Path) -> Path:
    """Write the step of ``model`` to one ONNX file (weights inside, batch dynamic) with its metadata."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    k, m = model.embed, model.n_inputs
    s = torch.zeros(2, k)
    w = torch.zeros(2, k + 1, m)
    batch = torch.export.Dim("batch")
    torch.onnx.export(_Step(copy.deepcopy(model).float()).eval(), (s, w), str(path), dynamo=True, external_data=False,
                      input_names=["state", "inputs"], output_names=["state_next"],
                      dynamic_shapes=({0: batch}, {0: batch}), verbose=False)
    meta: dict[str, Any] = {"kind": "spin-node-step", **model.config(), **model.meta.to_dict()}
    meta.pop("history", None)
    write_metadata(path, meta)
    return path


class OnnxRollout:
    """A Spin-NODE step in onnxruntime; ``rollout`` mirrors :meth:`SpinNODE.rollout`."""

    def __init__(self, path: str | Path, threads: int = 1):
        self.session, self.meta = open_session(path, threads)
        if self.meta.get("kind") != "spin-node-step":
            raise HilError(f"{path}: not a Spin-NODE step model; export one with models.spin_node.onnx.export_step")
        self.embed = int(self.meta["embed"])

    def step(self, s: np.ndarray, window: np.ndarray) -> np.ndarray:
        return self.session.run(None, {"state": s, "inputs": window})[0]

    def rollout(self, s0: np.ndarray, u: np.ndarray, steps: int | None = None) -> np.ndarray:
        """States (B, steps+1, k) in normalised units, as the torch rollout (inputs float32)."""
        s = np.ascontiguousarray(s0, dtype=np.float32)
        u = np.asarray(u, dtype=np.float32)
        steps = u.shape[1] - 1 if steps is None else steps
        need = steps + self.embed + 1
        if u.shape[1] < need:
            u = np.concatenate([u, np.repeat(u[:, -1:], need - u.shape[1], axis=1)], axis=1)
        out = np.empty((s.shape[0], steps + 1, s.shape[1]), dtype=np.float32)
        out[:, 0] = s
        run = self.session.run
        for i in range(steps):
            s = run(None, {"state": s, "inputs": np.ascontiguousarray(u[:, i:i + self.embed + 1])})[0]
            out[:, i + 1] = s
        return out
