"""ONNX export and loading of step models, with metadata checked on load.

A step model maps (input, h) → (output, h'), batch dynamic. Metadata travels
inside the file (``metadata_props``, JSON values): label names, decision
threshold, preprocessing (``hil.preprocess``), input size, training run ids,
package version. :class:`StepSession` refuses a model whose metadata is
incomplete and a frame that does not match it, with a message saying why.
onnxruntime runs with thread spinning off: in a process that also runs torch,
spinning threads slow both badly (measured on these machines).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from hil.errors import HilError
from hil.labels import UNKNOWN  # noqa: F401 — importable from here until ``decide`` moves
from hil.preprocess import profile


def decide(probs: np.ndarray, labels: list[str] | tuple[str, ...], threshold: float) -> str:
    """The label of one probability vector: the argmax if it reaches ``threshold``, else unknown."""
    k = int(np.argmax(probs))
    return labels[k] if probs[k] >= threshold else UNKNOWN


REQUIRED_META = ("labels", "threshold", "preprocessing", "input_size", "hidden", "version")


def write_metadata(path: str | Path, meta: Mapping[str, Any]) -> None:
    """Replace an ONNX file's ``metadata_props`` with ``meta`` (values as JSON)."""
    import onnx

    proto = onnx.load(str(path))
    del proto.metadata_props[:]
    for key, value in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, json.dumps(value)
    onnx.save(proto, str(path))


def open_session(path: str | Path, threads: int = 1, hint: str = "") -> tuple[Any, dict[str, Any]]:
    """An onnxruntime CPU session with thread spinning off, and the file's metadata (JSON-decoded).

    Every ONNX model of the project is opened here: spinning threads slow a
    process that also runs torch badly (measured on these machines).
    """
    import onnxruntime as ort

    path = Path(path)
    if not path.exists():
        raise HilError(f"{path}: no such model file{'; ' + hint if hint else ''}")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise HilError(f"{path}: not a loadable ONNX model ({exc})") from None
    raw = session.get_modelmeta().custom_metadata_map
    try:
        meta = {k: json.loads(v) for k, v in raw.items()}
    except json.JSONDecodeError:
        raise HilError(f"{path}: model metadata is not JSON; re-export the model") from None
    return session, meta


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


def quantize_int8(src: str | Path, dst: str | Path) -> Path:
    """Write an int8-weight copy of an exported step model (onnxruntime dynamic quantisation, per channel).

    Why: the reference classifier's step reads 20 MB of float32 weights; at a
    camera's frame rate they fall out of the cache between frames and come back
    from DRAM (≈ 1.1 ms a step here). Int8 weights are 5 MB (≈ 0.35 ms cold).
    Weights are unsigned 8-bit, per output channel: signed int8 weights run
    through AVX2's saturating u8×s8 multiply-add here and moved probabilities
    by 0.57 on a small model; u8×u8 moves them by ~1e-3. Parity with
    torch is a property of the float32 file only; the metadata says
    ``"weights": "int8"``.
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    src, dst = Path(src), Path(dst)
    proto = onnx.load(str(src))
    meta = {entry.key: json.loads(entry.value) for entry in proto.metadata_props}
    del proto.graph.value_info[:]  # the exporter's stale shape hints trip the quantiser's shape inference
    plain = dst.with_suffix(".fp32-tmp.onnx")
    onnx.save(proto, str(plain))
    try:
        quantize_dynamic(str(plain), str(dst), weight_type=QuantType.QUInt8, per_channel=True)
    finally:
        plain.unlink(missing_ok=True)
    write_metadata(dst, dict(meta, weights="int8"))
    return dst


class StepSession:
    """An ONNX step model in onnxruntime, fed through the shared preprocessing."""

    def __init__(self, path: str | Path, threads: int = 2):
        self.session, self.meta = open_session(path, threads, "export one with `hil export classifier`")
        missing = [k for k in REQUIRED_META if k not in self.meta]
        if missing:
            raise HilError(f"{path}: model metadata lacks {', '.join(missing)}; re-export it with `hil export`")
        self.labels: list[str] = list(self.meta["labels"])
        self.threshold = float(self.meta["threshold"])
        self.input_size = int(self.meta["input_size"])
        self.hidden = int(self.meta["hidden"])
        self.kind = str(self.meta["preprocessing"])

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
