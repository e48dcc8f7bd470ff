"""The HDF5 store: many runs in one file, each record flushed as it completes.

Layout::

    /runs/<run_id>                 attrs: protocol, params (JSON), bench (text),
                                   started, ended, status, message, version, host
    /runs/<run_id>/records/<i>     one group per record (i = zero-padded index);
                                   datasets (frames chunked + gzip) and scalar attrs;
                                   attr ``complete`` is written last

A record is written, marked complete and flushed before the next begins, so a
process killed mid-run (even SIGKILL) leaves every finished record readable;
a record without its ``complete`` mark is discarded on resume and redone.
HDF5 file locking makes a second writer fail with a clear error instead of
corrupting the file. The default (earliest) file format is used on purpose:
it reopens after a crash without ``h5clear``.
"""

from __future__ import annotations

import datetime as _dt
import json
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping

import h5py
import numpy as np

from hil.errors import StoreError

RUNNING, COMPLETE, FAILED = "running", "complete", "failed"
_PAD = 6  # digits of a record index


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds")


def package_version() -> str:
    """The installed spin-hil version, recorded with every run and exported model."""
    try:
        from importlib.metadata import version

        return version("spin-hil")
    except Exception:
        return "unknown"


def _hold_metadata_until_flush(f: h5py.File) -> None:
    """Keep dirty HDF5 metadata in memory until an explicit flush.

    By default the metadata cache may write a half-updated group index to disk
    at any moment, so a writer killed between flushes could leave a record
    group that no longer iterates ("bad heap free list", seen under load).
    With evictions off, the file on disk changes only at ``flush`` — after
    each complete record — which narrows the crash window to the flush itself.
    """
    config = f.id.get_mdc_config()
    config.incr_mode = 0  # H5C_incr__off
    config.flash_incr_mode = 0  # H5C_flash_incr__off
    config.decr_mode = 0  # H5C_decr__off
    config.evictions_enabled = False
    f.id.set_mdc_config(config)


def _complete(records: h5py.Group, name: str) -> bool:
    """Whether record ``name`` was finished. A writer killed mid-record can leave
    a name whose object never reached the disk: that record is simply unfinished."""
    try:
        return bool(records[name].attrs.get("complete", False))
    except (KeyError, OSError):
        return False


@dataclass(frozen=True)
class RunInfo:
    """What ``hil runs`` lists of a run."""

    run_id: str
    protocol: str
    status: str
    records: int
    started: str
    ended: str
    message: str


@dataclass
class Record:
    """One record read back: arrays by name, scalars and strings in ``attrs``."""

    index: int
    data: dict[str, np.ndarray]
    attrs: dict[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.data[key] if key in self.data else self.attrs[key]


class Store:
    """An HDF5 file of runs. ``mode``: "a" to write (exclusive), "r" to read."""

    def __init__(self, path: str | Path, mode: str = "a", swmr: bool = False):
        self.path = Path(path)
        if mode not in ("a", "r"):
            raise StoreError(f"store mode must be 'a' (write) or 'r' (read), got {mode!r}")
        self.mode = mode
        if mode == "r" and not self.path.exists():
            raise StoreError(f"{self.path}: no such file")
        try:
            if mode == "r":
                self._file = h5py.File(self.path, "r", locking=not swmr, swmr=swmr)
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._file = h5py.File(self.path, "a", locking=True)
        except BlockingIOError as exc:
            raise StoreError(
                f"{self.path} is open for writing by another process; "
                "wait for it to finish or write to another file"
            ) from exc
        except OSError as exc:
            text = str(exc)
            if "unable to lock file" in text.lower():
                raise StoreError(
                    f"{self.path} is open for writing by another process; "
                    "wait for it to finish or write to another file"
                ) from exc
            raise StoreError(
                f"{self.path} is not a readable HDF5 file (truncated or corrupt?): {text}"
            ) from exc
        if mode == "a":
            _hold_metadata_until_flush(self._file)
            self._file.require_group("runs")

    # -- context management -------------------------------------------------
    def close(self) -> None:
        if self._file.id.valid:
            self._file.close()

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
    ) -> "Run":
        """Start a new run with its provenance; status is 'running' until finished."""
        self._need_write()
        runs = self._file["runs"]
        if run_id is None:
            stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
            run_id, n = f"{protocol}-{stamp}", 1
            while run_id in runs:
                n += 1
                run_id = f"{protocol}-{stamp}-{n}"
        elif run_id in runs:
            raise StoreError(f"{self.path}: run {run_id!r} exists; resume it or choose another id")
        group = runs.create_group(run_id)
        group.attrs.update(
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
        group.create_group("records")
        self._file.flush()
        return Run(self, group)

    def run(self, run_id: str) -> "Run":
        """An existing run (to read it, or to resume it in write mode)."""
        try:
            return Run(self, self._file["runs"][run_id])
        except KeyError:
            known = ", ".join(self.run_ids()) or "none"
            raise StoreError(f"{self.path}: no run {run_id!r}; runs: {known}") from None

    def run_ids(self) -> list[str]:
        return sorted(self._file["runs"]) if "runs" in self._file else []

    def runs(self) -> list[RunInfo]:
        return [self.run(r).info() for r in self.run_ids()]

    def _need_write(self) -> None:
        if self.mode != "a":
            raise StoreError(f"{self.path} is open read-only")

    def flush(self) -> None:
        self._file.flush()


class Run:
    """One run: append records, mark the end, read back."""

    def __init__(self, store: Store, group: h5py.Group):
        self.store = store
        self.group = group
        self.run_id: str = group.name.rsplit("/", 1)[-1]
        self._names: dict[int, str] | None = None

    @property
    def attrs(self) -> dict[str, Any]:
        out = dict(self.group.attrs)
        out["params"] = json.loads(out.get("params", "{}"))
        return out

    @property
    def status(self) -> str:
        return str(self.group.attrs["status"])

    def info(self) -> RunInfo:
        a = self.group.attrs
        return RunInfo(self.run_id, str(a["protocol"]), str(a["status"]), len(self.completed()),
                       str(a["started"]), str(a["ended"]), str(a["message"]))

    # -- writing ------------------------------------------------------------------
    def write_record(self, index: int, record: Mapping[str, Any]) -> None:
        """Write record ``index``: arrays become datasets, scalars and strings attributes.

        The record is marked complete and the file flushed before returning.
        """
        self.store._need_write()
        records = self.group["records"]
        names = self._complete_names()
        if index in names:
            raise StoreError(f"run {self.run_id}: record {index} is already complete")
        base = name = f"{index:0{_PAD}d}"
        attempt = 0
        while name in records:  # an unfinished leftover of a killed writer: remove it, or step past it
            try:
                del records[name]
            except (KeyError, OSError, RuntimeError):
                attempt += 1
                name = f"{base}.{attempt}"
        g = records.create_group(name)
        for key, value in record.items():
            if isinstance(value, (str, bytes, bool, int, float, np.integer, np.floating, np.bool_)):
                g.attrs[key] = value
                continue
            array = np.asarray(value)
            if array.dtype == object:
                raise StoreError(f"record field {key!r} is not numeric: {type(value).__name__}")
            if array.dtype == np.float64 and array.ndim >= 2:
                array = array.astype(np.float32)  # frames: float32 as the format says
            if array.ndim >= 2:
                chunks = (1,) + array.shape[1:] if array.ndim == 3 else True
                g.create_dataset(key, data=array, chunks=chunks, compression="gzip", compression_opts=4, shuffle=True)
            else:
                g.create_dataset(key, data=array)
        g.attrs["complete"] = True
        self.store.flush()
        names[index] = name

    def finish(self, status: str = COMPLETE, message: str = "") -> None:
        """Mark the run complete or failed (with the reason)."""
        if status not in (COMPLETE, FAILED, RUNNING):
            raise StoreError(f"unknown run status {status!r}")
        self.group.attrs.update(status=status, message=message, ended=_now() if status != RUNNING else "")
        self.store.flush()

    def discard_incomplete(self) -> int:
        """Delete records a killed writer left half-written; return how many.

        A leftover whose link is too damaged to delete stays, ignored: a
        rewritten record then takes the name ``<index>.<attempt>``.
        """
        records = self.group["records"]
        stale = [n for n in records if not _complete(records, n)]
        removed = 0
        for n in stale:
            try:
                del records[n]
                removed += 1
            except (KeyError, OSError, RuntimeError):
                pass
        if removed:
            self.store.flush()
        return removed

    def _complete_names(self) -> dict[int, str]:
        """Record index → the name of its complete group (read once, then kept up to date by writes)."""
        if self._names is None:
            records = self.group["records"]
            self._names = {int(n.split(".")[0]): n for n in records if _complete(records, n)}
        return self._names

    # -- reading ------------------------------------------------------------------
    def completed(self) -> list[int]:
        """Indices of complete records, sorted."""
        return sorted(self._complete_names())

    def record(self, index: int) -> Record:
        try:
            g = self.group["records"][self._complete_names()[index]]
        except KeyError:
            raise StoreError(f"run {self.run_id}: no complete record {index}") from None
        data = {k: g[k][()] for k in g}
        attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in g.attrs.items() if k != "complete"}
        return Record(index, data, attrs)

    def records(self) -> Iterator[Record]:
        for i in self.completed():
            yield self.record(i)

    def stack(self, field: str) -> np.ndarray:
        """One field of every complete record stacked along a new first axis."""
        return np.stack([np.asarray(r[field]) for r in self.records()])
