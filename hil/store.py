"""The run store: a directory of runs, each run its own HDF5 files, every record checksummed.

``Store("out/sweep.h5")`` names a *directory* (the name keeps its ``.h5`` so
commands read as before)::

    out/sweep.h5/
        store.json                   layout marker
        writer.lock                  flock of the one writing process (readers never lock)
        runs/<run_id>/
            run.json                 provenance and status: protocol, params (JSON), bench
                                     (text), started, ended, status, message, version, host
            writer.json              the live writer's host, pid and heartbeat (gone when it stops)
            seg-0000.h5, seg-0001.h5 the records, in segments (see :mod:`hil.store_segment`)

Why this shape — the promise is that no finished record is ever lost and damage
is never read back as data:

- *one file per run, several per resume*: a disk full or a crash can only hurt
  the segment being written; every other run, and the segments written before a
  resume, are closed files nobody writes again. A resumed run never reopens a
  killed writer's segment for writing: it starts a new one.
- *the JSON files are replaced atomically* (tmp, fsync, rename) and carry a CRC-32.
- *HDF5 segments use libver latest with SWMR*: readers (``hil runs``, any
  ``Store(path, "r")``) follow a run while it is written, and the metadata of a
  killed writer's file stays consistent up to its last flush. Every dataset has
  the fletcher32 filter; a record is committed by its index entry, written and
  flushed after its data (the commit mark).
- *status is never a lie*: ``running`` is believed only while the writer's pid is
  alive on this host (or its heartbeat fresh, for another host); otherwise the run
  reads ``interrupted``.

A single-file store of older versions is refused with the way out:
``hil store repair OLD.h5 --out NEW.h5`` copies what it can read.
"""

from __future__ import annotations

import datetime as _dt
import fcntl
import json
import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np

from hil.errors import StoreError
from hil.store_files import Heartbeat, read_json, write_json, writer_state

RUNNING, COMPLETE, FAILED, INTERRUPTED = "running", "complete", "failed", "interrupted"
LAYOUT = "spin-hil-store/2"
_SEGMENT = re.compile(r"^seg-(\d{4,})\.h5$")


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds")


def package_version() -> str:
    """The installed spin-hil version, recorded with every run and exported model."""
    try:
        from importlib.metadata import version

        return version("spin-hil")
    except Exception:
        return "unknown"


def is_legacy(path: Path) -> bool:
    """Whether ``path`` is a single-file store of an older spin-hil (HDF5 signature)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(8) == b"\x89HDF\r\n\x1a\n"
    except OSError:
        return False


@dataclass(frozen=True)
class RunInfo:
    """What ``hil runs`` lists of a run. ``status``: complete, running, interrupted, failed
    (or damaged); ``detail``: who runs it, or why it stopped."""

    run_id: str
    protocol: str
    status: str
    records: int
    started: str
    ended: str
    message: str
    detail: str = ""

    @property
    def status_text(self) -> str:
        """``complete``, ``running (pid N on HOST)``, ``interrupted``, ``failed: <reason>``."""
        if self.status == RUNNING and self.detail:
            return f"running ({self.detail})"
        if self.status in (FAILED, INTERRUPTED, "damaged") and self.message:
            return f"{self.status}: {self.message}"
        return self.status


@dataclass
class Record:
    """One record read back: arrays by name, scalars and strings in ``attrs``."""

    index: int
    data: dict[str, np.ndarray]
    attrs: dict[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.data[key] if key in self.data else self.attrs[key]


class Store:
    """A store of runs. ``mode``: "a" to write (one writing process at a time), "r" to read.

    Readers never block the writer and always read in SWMR mode; ``swmr`` is kept
    for callers that ask for it.
    """

    def __init__(self, path: str | Path, mode: str = "a", swmr: bool = False):
        self.path = Path(path)
        if mode not in ("a", "r"):
            raise StoreError(f"store mode must be 'a' (write) or 'r' (read), got {mode!r}")
        self.mode = mode
        self._lock = None
        self._runs: dict[str, Run] = {}
        if self.path.is_file():
            if is_legacy(self.path):
                raise StoreError(f"{self.path} is a single-file store of an older spin-hil; convert it with "
                                 f"`hil store repair {self.path} --out NEW.h5` and use NEW.h5")
            raise StoreError(f"{self.path} is not a readable HDF5 file or store (a plain file)")
        if mode == "r":
            if not self.path.exists():
                raise StoreError(f"{self.path}: no such file")
            self._check_layout()
            return
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            if not (self.path / "store.json").exists():
                if any(p.name != "writer.lock" for p in self.path.iterdir()):
                    raise StoreError(f"{self.path} is a directory but not a store; choose another --out")
                (self.path / "runs").mkdir(exist_ok=True)
                write_json(self.path / "store.json", {"layout": LAYOUT})
            self._check_layout()
            self._lock = open(self.path / "writer.lock", "a+")
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            self._lock = None
            raise StoreError(f"{self.path} is open for writing by another process; "
                             "wait for it to finish or write to another file") from None
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot create the store: {exc}") from None

    def _check_layout(self) -> None:
        try:
            layout = read_json(self.path / "store.json").get("layout")
        except StoreError as exc:
            raise StoreError(f"{self.path} is not a readable store ({exc})") from None
        if layout != LAYOUT:
            raise StoreError(f"{self.path}: store layout {layout!r}; this spin-hil reads {LAYOUT!r}")

    # -- context management -------------------------------------------------
    def close(self) -> None:
        """Close every run; a run left ``running`` by this process then reads ``interrupted``."""
        for run in self._runs.values():
            run._release()
        if self._lock is not None:
            self._lock.close()  # releases the flock
            self._lock = None

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- runs -------------------------------------------------------------------
    def create_run(
        self,
        protocol: str,
        params: Mapping[str, Any],
        bench_text: str = "",
        run_id: str | None = None,
        provenance: Mapping[str, Any] | None = None,
    ) -> "Run":
        """Start a new run with its provenance; status is 'running' until finished.

        ``provenance``: extra attributes to keep with the run (e.g. a bench hash).
        """
        self._need_write()
        runs = self.path / "runs"
        if run_id is None:
            stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
            base, n = f"{protocol}-{stamp}", 1
            run_id = base
            while True:
                try:
                    (runs / run_id).mkdir()
                    break
                except FileExistsError:
                    n += 1
                    run_id = f"{base}-{n}"
        else:
            if not run_id or "/" in run_id or run_id.startswith("."):
                raise StoreError(f"run id {run_id!r} is not allowed (non-empty, no '/', not starting with '.')")
            try:
                (runs / run_id).mkdir()
            except FileExistsError:
                raise StoreError(f"{self.path}: run {run_id!r} exists; resume it or choose another id") from None
        meta = dict(provenance or {})
        meta.update(
            protocol=protocol,
            params=json.dumps(dict(params), sort_keys=True, default=str),
            bench=bench_text,
            started=_now(),
            ended="",
            status=RUNNING,
            message="",
            version=package_version(),
            host=socket.gethostname(),
        )
        run = Run(self, run_id)
        run._claim()
        run._save(meta)
        self._runs[run_id] = run
        return run

    def _adopt_run(self, run_id: str, meta: Mapping[str, Any]) -> "Run":
        """A new run with given provenance (``hil store repair`` copies runs this way)."""
        self._need_write()
        try:
            (self.path / "runs" / run_id).mkdir()
        except FileExistsError:
            raise StoreError(f"{self.path}: run {run_id!r} exists") from None
        run = self._runs[run_id] = Run(self, run_id)
        run._claim()
        run._save(dict(meta))
        return run

    def run(self, run_id: str) -> "Run":
        """An existing run (to read it, or to resume it in write mode)."""
        if run_id in self._runs:
            return self._runs[run_id]
        if "/" in run_id or not (self.path / "runs" / run_id / "run.json").exists():
            known = ", ".join(self.run_ids()) or "none"
            raise StoreError(f"{self.path}: no run {run_id!r}; runs: {known}")
        run = self._runs[run_id] = Run(self, run_id)
        return run

    def run_ids(self) -> list[str]:
        runs = self.path / "runs"
        if not runs.is_dir():
            return []
        return sorted(p.name for p in runs.iterdir() if (p / "run.json").exists())

    def runs(self) -> list[RunInfo]:
        out = []
        for r in self.run_ids():
            try:
                out.append(self.run(r).info())
            except StoreError as exc:
                out.append(RunInfo(r, "?", "damaged", 0, "", "", str(exc)))
        return out

    def _need_write(self) -> None:
        if self.mode != "a":
            raise StoreError(f"{self.path} is open read-only")

    def flush(self) -> None:
        """Records are flushed as they are written; kept for callers."""


class Run:
    """One run: append records, mark the end, read back."""

    def __init__(self, store: Store, run_id: str):
        self.store = store
        self.run_id = run_id
        self.dir = store.path / "runs" / run_id
        self._meta: dict[str, Any] | None = None
        self._heartbeat: Heartbeat | None = None
        self._writer = None  # SegmentWriter of this process
        self._readers: dict[str, Any] = {}  # segment name → SegmentReader
        self._where: dict[int, tuple[str, int]] = {}  # record index → (segment name, row)
        self.damage: list[str] = []  # segments or rows that could not be read

    # -- provenance and status ----------------------------------------------
    def _load(self) -> dict[str, Any]:
        if self._meta is None or self.store.mode == "r":
            self._meta = read_json(self.dir / "run.json")
        return self._meta

    def _save(self, meta: dict[str, Any]) -> None:
        write_json(self.dir / "run.json", meta)
        self._meta = meta

    def _live(self) -> tuple[str, str]:
        """(status word, detail) as it truly is now."""
        meta = self._load()
        status = str(meta["status"])
        if status != RUNNING:
            return status, ""
        if self._heartbeat is not None:
            return RUNNING, f"pid {os.getpid()} on {socket.gethostname()}"
        return writer_state(self.dir / "writer.json")

    @property
    def attrs(self) -> dict[str, Any]:
        out = dict(self._load())
        out["params"] = json.loads(out.get("params", "{}"))
        out["status"] = self._live()[0]
        return out

    @property
    def status(self) -> str:
        """complete, running, interrupted (its writer died) or failed."""
        return self._live()[0]

    def info(self) -> RunInfo:
        a = self._load()
        status, detail = self._live()
        return RunInfo(self.run_id, str(a["protocol"]), status, len(self.completed()),
                       str(a["started"]), str(a["ended"]), str(a["message"]), detail)

    # -- writing ------------------------------------------------------------------
    def _claim(self) -> None:
        self.store._need_write()
        if self._heartbeat is None:
            self._heartbeat = Heartbeat(self.dir / "writer.json")

    def _release(self) -> None:
        if self._writer is not None:
            try:
                self._writer.close()
            except Exception:  # a failed disk: the data flushed before stays readable
                pass
            self._writer = None
        from hil.store_segment import release_reader

        for reader in self._readers.values():
            if reader._own:
                release_reader(reader)
        self._readers.clear()
        if self._heartbeat is not None:
            self._heartbeat.stop(release=True)
            self._heartbeat = None

    def write_record(self, index: int, record: Mapping[str, Any]) -> None:
        """Write record ``index``: arrays become datasets, scalars and strings too (all checksummed).

        The record is committed (its index entry flushed after its data) before returning.
        """
        from hil.store_segment import SegmentWriter, normalise

        self.store._need_write()
        index = int(index)
        if index < 0:
            raise StoreError(f"run {self.run_id}: record index must be ≥ 0, got {index}")
        if index in self._index():
            raise StoreError(f"run {self.run_id}: record {index} is already complete")
        fields = normalise(record)
        self._claim()
        if self._writer is None or not self._writer.fits(fields):
            if self._writer is not None:
                self._writer.close()
                self._readers.pop(self._writer.path.name, None)
            self._writer = SegmentWriter(self.dir / self._next_segment(), self._load(), fields)
        row = self._writer.append(index, fields)
        self._where[index] = (self._writer.path.name, row)

    def _next_segment(self) -> str:
        numbers = [int(m.group(1)) for p in self.dir.iterdir()
                   if (m := _SEGMENT.match(p.name.removesuffix(".tmp")))]
        return f"seg-{max(numbers, default=-1) + 1:04d}.h5"

    def finish(self, status: str = COMPLETE, message: str = "") -> None:
        """Mark the run complete, failed or interrupted (a caught signal; with the reason), or running
        again (resume). A writer that dies without calling this reads ``interrupted`` anyway."""
        if status not in (COMPLETE, FAILED, INTERRUPTED, RUNNING):
            raise StoreError(f"unknown run status {status!r}; one of {COMPLETE}, {FAILED}, {INTERRUPTED}, {RUNNING}")
        self.store._need_write()
        if status == RUNNING:
            self._claim()
        meta = dict(self._load(), status=status, message=message, ended=_now() if status != RUNNING else "")
        try:
            self._save(meta)
        finally:
            if status != RUNNING:
                self._release()

    def discard_incomplete(self) -> int:
        """Kept for resume callers: a killed writer's unfinished record is never visible
        (it has no commit mark) and its segment is never written again, so there is
        nothing to delete. Returns 0."""
        return 0

    # -- reading ------------------------------------------------------------------
    def _segments(self) -> list[str]:
        return sorted(p.name for p in self.dir.iterdir() if _SEGMENT.match(p.name))

    def _reader(self, name: str):
        from hil.store_segment import SegmentReader, acquire_reader

        if name not in self._readers:
            if self._writer is not None and self._writer.path.name == name:
                self._readers[name] = SegmentReader(self.dir / name, self.run_id, self._writer.file)
            else:
                self._readers[name] = acquire_reader(self.dir / name, self.run_id)
        return self._readers[name]

    def _index(self, refresh: bool = False) -> dict[int, tuple[str, int]]:
        """Record index → (segment, row). A writer keeps its map; a reader re-reads it on ``refresh``
        (``completed()``, ``info()``) to follow a live run."""
        if self._where and (self.store.mode == "a" or not refresh):
            return self._where
        where: dict[int, tuple[str, int]] = {}
        damage = []
        for name in self._segments():
            try:
                reader = self._reader(name)
                for index, row in reader.rows().items():
                    where.setdefault(index, (name, row))
                damage += reader.damage
            except StoreError as exc:
                damage.append(str(exc))
        self._where, self.damage = where, damage
        return where

    def completed(self) -> list[int]:
        """Indices of complete (committed) records, sorted."""
        return sorted(self._index(refresh=True))

    def record(self, index: int) -> Record:
        try:
            where = self._index()
            name, row = where[index] if index in where else self._index(refresh=True)[index]
        except KeyError:
            raise StoreError(f"run {self.run_id}: no complete record {index}") from None
        data, attrs = self._reader(name).read(row, index)
        return Record(index, data, attrs)

    def records(self) -> Iterator[Record]:
        for i in self.completed():
            yield self.record(i)

    def stack(self, field: str) -> np.ndarray:
        """One field of every complete record stacked along a new first axis."""
        return np.stack([np.asarray(r[field]) for r in self.records()])
