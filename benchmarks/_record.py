"""Provenance every benchmark result carries: command, machine, date, load, code version.

One helper for all benchmarks (issue 19), so a figure in RESULTS.md can be
traced to what produced it::

    from _record import provenance, write_result
    rec = provenance(argv, script=__file__, threads=1)   # at the start (load before)
    ...
    write_result(path, {**rec, "results": ...})          # adds load at the end; atomic

``code`` is the git commit of the checkout plus whether tracked files were
modified (``dirty``) — a dirty tree means the number came from uncommitted
code; without git it is the installed package's version.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def code_version() -> dict:
    """{"commit", "dirty", "modified"} from git, or {"version"} of the package when there is no git."""
    try:
        def git(*args):
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=True).stdout

        commit = git("rev-parse", "HEAD").strip()
        modified = [line[3:] for line in git("status", "--porcelain", "--untracked-files=no").splitlines()]
        return {"commit": commit, "dirty": bool(modified), "modified": len(modified)}
    except (OSError, subprocess.SubprocessError):
        from importlib.metadata import PackageNotFoundError, version

        try:
            return {"version": version("spin-hil")}
        except PackageNotFoundError:
            return {"version": "unknown"}


def machine(threads: int | None = None) -> dict:
    """What ran it: host, cores, platform, Python, torch (if imported) and threads."""
    m = {"host": platform.node(), "cpus": os.cpu_count(), "platform": platform.platform(),
         "python": platform.python_version()}
    torch = sys.modules.get("torch")
    if torch is not None:
        m["torch"] = torch.__version__
        m["threads"] = threads if threads is not None else torch.get_num_threads()
    elif threads is not None:
        m["threads"] = threads
    return m


def provenance(argv: list[str] | None, script: str, threads: int | None = None) -> dict:
    """The record's header; call at the start of the run (the load average before it)."""
    args = sys.argv[1:] if argv is None else list(argv)
    rel = Path(script).resolve().relative_to(ROOT) if Path(script).resolve().is_relative_to(ROOT) else Path(script)
    return {
        "command": " ".join(["python", str(rel), *args]),
        "machine": machine(threads),
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "load": {"before": [round(x, 2) for x in os.getloadavg()]},
        "code": code_version(),
    }


def write_result(path: str | Path, record: dict) -> Path:
    """Write ``record`` (with the load average now added) as JSON, atomically (temp file + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = dict(record)
    load = dict(record.get("load", {}))
    load["after"] = [round(x, 2) for x in os.getloadavg()]
    record["load"] = load
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(record, indent=1) + "\n")
    os.replace(tmp, path)
    return path


def save(path: str | Path, data: dict, script: str, argv: list[str] | None = None, indent: int = 1) -> Path:
    """For benchmarks with a header of their own: add what it lacks (command, date, machine, code version;
    the load average at the end when it recorded none) and write atomically."""
    path = Path(path)
    rec = dict(data)
    head = provenance(argv, script)
    for key in ("command", "date", "machine"):
        rec.setdefault(key, head[key])
    rec["code"] = head["code"]
    rec.setdefault("load", {"at_end": head["load"]["before"]})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(rec, indent=indent) + "\n")
    os.replace(tmp, path)
    return path


# -- trained weights (issue 19: the models behind a figure are kept or regenerated bit for bit) -----------

SMALL_MODEL_BYTES = 256 * 1024  # weights up to this size are kept next to the figure's JSON (results/models/)
_STATE_KEYS = ("state_dict", "state", "model_state", "model")


def _state_of(obj):
    """A flat {name: tensor/array} from a module, a state dict, a checkpoint dict or a .pt/.npz file."""
    if isinstance(obj, (str, Path)):
        path = Path(obj)
        if path.suffix == ".npz":
            import numpy as np

            with np.load(path) as z:
                return {k: z[k] for k in z.files}
        import torch

        obj = torch.load(path, map_location="cpu", weights_only=True)
    if hasattr(obj, "state_dict") and callable(obj.state_dict):
        obj = obj.state_dict()
    if isinstance(obj, dict):
        for key in _STATE_KEYS:  # a checkpoint: {"config": …, "state": {…}} (classifier, stray CNN, Spin-NODE)
            if isinstance(obj.get(key), dict):
                return obj[key]
        return obj
    raise TypeError(f"cannot take the weights of {type(obj).__name__}")


def weights_digest(obj) -> str:
    """sha256 (hex) of a model's weights: every tensor of its state dict in name order, each hashed as
    name, dtype, shape and its bytes (C order, little-endian as stored). Two trainings give the same digest
    exactly when every weight is bit-identical; the file's other contents (dates, histories) do not count.

    ``obj``: an ``nn.Module``, a state dict, a checkpoint dict holding one (``state_dict``/``state``),
    or the path of a ``.pt`` (the same) or ``.npz`` file.
    """
    import hashlib

    import numpy as np

    state = _state_of(obj)
    h = hashlib.sha256()
    for name in sorted(state):
        value = state[name]
        if hasattr(value, "detach"):  # torch tensor: its raw bytes (any dtype, bfloat16 too)
            import torch

            value = value.detach().cpu().contiguous()
            dtype, shape = str(value.dtype).replace("torch.", ""), tuple(value.shape)
            data = value.reshape(-1).view(torch.uint8).numpy().tobytes() if value.numel() else b""
        else:
            arr = np.ascontiguousarray(np.asarray(value))
            dtype, data, shape = str(arr.dtype), arr.tobytes(), arr.shape
        h.update(f"{name}|{dtype}|{shape}|".encode())
        h.update(data)
    return h.hexdigest()


def keep_weights(results_dir: str | Path, name: str, obj, source: str | Path | None = None) -> dict:
    """Record of a trained model for a figure's JSON: its digest and, when small, a copy of the weights in
    ``<results_dir>/models/<name>`` ({"sha256", "bytes", "kept": path or None}).

    ``source`` is the model file to copy (its own format, e.g. a Spin-NODE .pt); without it the state dict of
    ``obj`` is saved as ``<name>``: ``np.savez_compressed`` for a ``.npz`` name (0/1 masks shrink to
    little), else ``torch.save``. Either file gives the same digest as ``obj`` (``weights_digest(path)``)."""
    import io

    digest = weights_digest(obj if source is None else source)
    if source is not None:
        blob = Path(source).read_bytes()
    else:
        import torch

        state = {k: v.detach().cpu().clone() for k, v in _state_of(obj).items()}
        buf = io.BytesIO()
        if name.endswith(".npz"):
            import numpy as np

            np.savez_compressed(buf, **{k: v.numpy() for k, v in state.items()})
        else:
            torch.save(state, buf)
        blob = buf.getvalue()
    rec = {"sha256": digest, "bytes": len(blob), "kept": None}
    if len(blob) <= SMALL_MODEL_BYTES:
        path = Path(results_dir) / "models" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(blob)
        os.replace(tmp, path)
        rec["kept"] = str(path.relative_to(ROOT)) if path.resolve().is_relative_to(ROOT) else str(path)
    return rec
