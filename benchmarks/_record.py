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
