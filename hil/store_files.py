"""Small files beside the HDF5 segments: checksummed JSON, written atomically, and
the writer's heartbeat, which lets a reader tell a live run from a dead one.

Every JSON file is written to a temporary name, fsynced and renamed over the old
one, so a reader (or a crash) sees either the old or the new content, never half
of it; a CRC-32 of the canonical text detects a flipped byte.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import zlib
from pathlib import Path
from typing import Any

from hil.errors import StoreError

HEARTBEAT_S = 5.0  # how often a live writer touches its heartbeat
STALE_S = 60.0  # a writer on another host silent this long is taken as dead
HOST = socket.gethostname()


def _canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, default=str)


def write_json(path: Path, data: dict) -> None:
    """Write ``data`` with its CRC-32 atomically (tmp file, fsync, rename)."""
    text = _canonical(data)
    body = json.dumps({"crc32": zlib.crc32(text.encode()), "data": json.loads(text)}, sort_keys=True, indent=1)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w") as fh:
        fh.write(body)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def read_json(path: Path) -> dict:
    """The data of a file written by :func:`write_json`; StoreError if missing or damaged."""
    try:
        outer = json.loads(path.read_text())
        data = outer["data"]
        ok = zlib.crc32(_canonical(data).encode()) == outer["crc32"]
    except FileNotFoundError:
        raise StoreError(f"{path}: missing") from None
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise StoreError(f"{path}: damaged (not the JSON the store writes: {exc})") from None
    if not ok:
        raise StoreError(f"{path}: damaged (CRC-32 mismatch)")
    return data


def _start_ticks(pid: int) -> str:
    """The kernel's start time of ``pid`` (Linux), so a reused pid is not taken for the writer."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def pid_alive(pid: int, start: str = "") -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, another user's
    ticks = _start_ticks(pid) if start else ""
    return not start or not ticks or ticks == start


def writer_state(path: Path) -> tuple[str, str]:
    """("running", "pid N on HOST") if the writer recorded in ``path`` is alive, else ("interrupted", why)."""
    try:
        w = read_json(path)
    except StoreError:
        return "interrupted", "no live writer"
    pid, host = int(w.get("pid", -1)), str(w.get("host", ""))
    if host == HOST:
        alive = pid_alive(pid, str(w.get("start", "")))
    else:
        alive = time.time() - float(w.get("heartbeat", 0)) < STALE_S
    if alive:
        return "running", f"pid {pid} on {host}"
    return "interrupted", f"writer pid {pid} on {host} is gone"


class Heartbeat:
    """Claims a run for this process and keeps its heartbeat fresh from a daemon thread."""

    def __init__(self, path: Path, interval: float = HEARTBEAT_S):
        self.path = path
        self.interval = interval
        self._stop = threading.Event()
        self._record = {"pid": os.getpid(), "host": HOST, "start": _start_ticks(os.getpid())}
        self.beat()
        self._thread = threading.Thread(target=self._loop, name=f"heartbeat {path.parent.name}", daemon=True)
        self._thread.start()

    def beat(self) -> None:
        write_json(self.path, dict(self._record, heartbeat=time.time()))

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.beat()
            except OSError:
                pass  # disk full: the run's own write will fail and say so

    def stop(self, release: bool = True) -> None:
        """Stop beating; ``release`` removes the claim (the run then reads as its recorded status)."""
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=2 * self.interval)
        if release:
            try:
                self.path.unlink()
            except OSError:
                pass
