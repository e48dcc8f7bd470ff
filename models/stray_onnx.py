"""ONNX export of the stray-field CNN and the onnxruntime session that checks its input.

The file carries its metadata (``metadata_props``, JSON values) as the step
models of :mod:`hil.onnx_io` do: image size, pixel size in units of d, the
field scaling, output names, training run. :class:`StrayFieldSession`
refuses a map of the wrong size or with NaN/inf, saying what to do, before
onnxruntime sees it. Spinning threads are off (torch may share the process).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import numpy as np

from hil.errors import HilError, InputDataError
from hil.onnx_io import open_session, write_metadata

REQUIRED_META = ("kind", "pixels", "pixel_over_d", "outputs", "input", "version")
KIND = "stray-field-cnn"


def export_onnx(model: Any, path: str | Path, pixels: int, metadata: Mapping[str, Any]) -> Path:
    """Export (N, 1, pixels, pixels) → (N, 2, pixels, pixels), batch dynamic, one file with metadata."""
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = dict(metadata, kind=KIND, pixels=pixels, outputs=["amplitude", "mz"])
    missing = [k for k in REQUIRED_META if k not in meta]
    if missing:
        raise HilError(f"cannot export: metadata lacks {', '.join(missing)}")
    x = torch.zeros(2, 1, pixels, pixels)
    torch.onnx.export(model.eval(), (x,), str(path), dynamo=True, external_data=False,
                      input_names=["b"], output_names=["m"],
                      dynamic_shapes=({0: torch.export.Dim("batch")},), verbose=False)
    write_metadata(path, meta)
    return path


def check_map(b: np.ndarray, pixels: int) -> np.ndarray:
    """(H, W) or (N, H, W) finite map of the model's size → (N, 1, H, W) float32, else a clear error."""
    b = np.asarray(b)
    given = b.shape
    if b.ndim == 2:
        b = b[None]
    if b.ndim != 3 or b.shape[-2:] != (pixels, pixels):
        raise InputDataError(
            f"B_z map of shape {given} refused: the model takes {pixels} × {pixels} pixels of "
            f"size d/2; resample or crop the scan to {pixels} × {pixels} first")
    if not np.issubdtype(b.dtype, np.number):
        raise InputDataError(f"B_z map of dtype {b.dtype} refused: give a numeric array")
    bad = ~np.isfinite(b)
    if bad.any():
        raise InputDataError(
            f"B_z map has {int(bad.sum())} NaN/inf pixel(s): fill or interpolate the missing pixels before reconstructing")
    return b.astype(np.float32)[:, None]


class StrayFieldSession:
    """The exported CNN in onnxruntime; :meth:`reconstruct` takes scaled maps b = −4π d B_z / (μ0 M_s t)."""

    def __init__(self, path: str | Path, threads: int = 2):
        self.session, self.meta = open_session(path, threads, "train one with `hil train stray-field`")
        missing = [k for k in REQUIRED_META if k not in self.meta]
        if missing or self.meta.get("kind") != KIND:
            raise HilError(f"{path}: not a stray-field model (metadata lacks {', '.join(missing) or 'kind'}); "
                           "export it with `hil train stray-field`")
        self.pixels = int(self.meta["pixels"])
        self.pixel_over_d = float(self.meta["pixel_over_d"])

    def reconstruct(self, b: np.ndarray) -> np.ndarray:
        """(H, W) or (N, H, W) → (N, 2, H, W): amplitude |m| and m_z."""
        x = check_map(b, self.pixels)
        (out,) = self.session.run(None, {"b": x})
        return out
