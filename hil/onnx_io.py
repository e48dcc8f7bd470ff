"""ONNX I/O shared by every model family: metadata in the file, sessions, int8 weights.

Metadata travels inside the file (``metadata_props``, JSON values) and is
read back on load; what a family requires of it is the family's business
(the classifier's step model: :mod:`hil.models.classifier_onnx`).
onnxruntime runs with thread spinning off: in a process that also runs torch,
spinning threads slow both badly (measured on these machines).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

from hil.errors import HilError


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
