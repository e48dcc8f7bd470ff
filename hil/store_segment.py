"""One segment of a run: an HDF5 file (libver latest, SWMR) holding records as rows.

Layout of ``seg-NNNN.h5``::

    /            attrs: run (the run's provenance as JSON), layout
    /index       int64 (rows,)           record index of each committed row — the commit mark
    /data/<f>    (rows, *shape) per field; scalars (rows,); strings/bytes as uint8 (rows, n)
    /shape/<f>   int64 (rows, ndim)      each row's true shape (rows of a field may differ)

Every dataset is chunked one row per chunk with the fletcher32 checksum (frames
also shuffle + gzip), so a committed row is never rewritten and a flipped byte
fails its chunk's checksum instead of reading back as a value. A record's rows
are written and flushed first, then its ``/index`` entry is appended and flushed:
a writer killed in between leaves extra data rows that no reader ever looks at.
The segment is created under ``.tmp``, its datasets made, SWMR switched on and
only then renamed into place, so a reader never opens a file that is not in
SWMR mode. The fields of a segment are fixed by its first record; a record with
other fields or types, or an array larger than the segment's extent, starts a new
segment (smaller ones are padded; ``/shape`` keeps the truth). Only dim 0 of a
dataset is unlimited (an extensible-array chunk index, append-only) and the file
space is paged (4 KiB), so no metadata block straddles a page: a SIGKILL cannot
tear one. Measured: 0 finished records lost in 120 kills (benchmarks/RESULTS.md).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import h5py
import numpy as np

from hil.errors import StoreError

LAYOUT = "spin-hil-segment/1"
MAX_CHUNK_BYTES = 4 << 20
#: SWMR readers retry a metadata read whose checksum fails (the writer may be
#: mid-write), sleeping twice as long each time. HDF5's default of 100 attempts
#: makes a damaged or truncated file hang the reader for ever; 24 attempts wait
#: at most ~35 ms in all, thousands of times a writer's flush.
READ_ATTEMPTS = 24


def _hdf5_library():
    """The libhdf5 that h5py uses, for the one call h5py does not wrap (None if not found)."""
    import ctypes

    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "libhdf5" in line and "libhdf5_hl" not in line}
        lib = ctypes.CDLL(sorted(paths)[0])
        lib.H5Pset_metadata_read_attempts.argtypes = [ctypes.c_int64, ctypes.c_uint]
        return lib
    except (OSError, IndexError, AttributeError):
        return None


_LIB: list = []


def open_swmr_reader(path: Path) -> h5py.File:
    """Open ``path`` read-only in SWMR mode, with a bounded number of metadata read attempts."""
    if not _LIB:
        _LIB.append(_hdf5_library())
    lib = _LIB[0]
    if lib is None:
        return h5py.File(path, "r", swmr=True, locking=False)
    fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
    fapl.set_fclose_degree(h5py.h5f.CLOSE_STRONG)
    fapl.set_file_locking(False, True)
    if lib.H5Pset_metadata_read_attempts(fapl.id, READ_ATTEMPTS) < 0:
        return h5py.File(path, "r", swmr=True, locking=False)
    fid = h5py.h5f.open(os.fsencode(path), h5py.h5f.ACC_RDONLY | h5py.h5f.ACC_SWMR_READ, fapl=fapl)
    return h5py.File(fid)


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # "scalar" | "array" | "str" | "bytes"
    array: np.ndarray

    @property
    def key(self) -> tuple:
        return self.name, self.kind, self.array.dtype.str, self.array.ndim


def normalise(record: Mapping[str, Any]) -> list[Field]:
    """Fields of a record as the store keeps them (frames float64 → float32)."""
    out = []
    for name, value in record.items():
        if not isinstance(name, str) or not name or "/" in name or name in (".", ".."):
            raise StoreError(f"record field name {name!r} is not allowed (a non-empty string without '/')")
        if isinstance(value, str):
            out.append(Field(name, "str", np.frombuffer(value.encode(), dtype=np.uint8)))
        elif isinstance(value, bytes):
            out.append(Field(name, "bytes", np.frombuffer(value, dtype=np.uint8)))
        elif isinstance(value, (bool, int, float, np.integer, np.floating, np.bool_)):
            out.append(Field(name, "scalar", np.asarray(value)))
        else:
            array = np.asarray(value)
            if array.dtype == object or array.dtype.kind in "USV":
                raise StoreError(f"record field {name!r} is not numeric: {type(value).__name__}")
            if array.dtype == np.float64 and array.ndim >= 2:
                array = array.astype(np.float32)  # frames: float32 as the format says
            out.append(Field(name, "array", np.ascontiguousarray(array)))
    return out


def _chunk(shape: tuple[int, ...], itemsize: int) -> tuple[int, ...]:
    dims = [max(1, s) for s in shape]
    i = 0
    while int(np.prod(dims)) * itemsize > MAX_CHUNK_BYTES and i < len(dims):
        if dims[i] > 1:
            dims[i] = (dims[i] + 1) // 2
        else:
            i += 1
    return (1, *dims)


def _put(ds: h5py.Dataset, extent: tuple[int, ...], row: int, block: np.ndarray) -> None:
    """Grow ``ds`` to ``extent`` and write ``block`` (1, *shape) at ``row`` (low-level: ~3× less overhead)."""
    ds.id.set_extent(extent)
    if block.size == 0:
        return
    fspace = ds.id.get_space()
    fspace.select_hyperslab((row,) + (0,) * (block.ndim - 1), block.shape)
    ds.id.write(h5py.h5s.create_simple(block.shape), fspace, np.ascontiguousarray(block, dtype=ds.dtype))


def _get(ds: h5py.Dataset, row: int, shape: tuple[int, ...]) -> np.ndarray:
    """Read row ``row`` of ``ds``, the block (1, *shape) from its origin; refresh once if a live writer grew it."""
    if row >= ds.shape[0]:
        ds.refresh()
        if row >= ds.shape[0]:
            raise OSError(f"row {row} is beyond the dataset's {ds.shape[0]} rows")
    out = np.empty((1, *shape), dtype=ds.dtype)
    if out.size:
        fspace = ds.id.get_space()
        fspace.select_hyperslab((row,) + (0,) * len(shape), out.shape)
        ds.id.read(h5py.h5s.create_simple(out.shape), fspace, out)
    return out


def extent(fld: Field) -> tuple[int, ...]:
    """The per-row extent a segment gives a field: its shape (strings get room to vary);
    a later record that does not fit starts a new segment, shorter ones are padded."""
    if fld.kind in ("str", "bytes"):
        return (max(64, 2 * fld.array.shape[0]),)
    return tuple(max(1, s) for s in fld.array.shape)


class SegmentWriter:
    """Appends records to a new segment file."""

    def __init__(self, path: Path, run_meta: Mapping[str, Any], fields: list[Field]):
        self.path = path
        self.key = tuple(f.key for f in fields)
        self.room = {f.name: extent(f) for f in fields}
        tmp = path.with_name(path.name + ".tmp")
        # Paged file space: every small metadata block lies inside one 4 KiB page, so a
        # SIGKILL cannot tear it (the kernel copies a page at once), measured in
        # benchmarks/faults_store.py; only dim 0 is unlimited, so each chunk index
        # is an extensible array (append-only, SWMR's own) and not a B-tree whose
        # nodes split and rewrite entries of committed rows.
        f = self.file = h5py.File(tmp, "w", libver="latest", fs_strategy="page", fs_page_size=4096)
        try:
            f.attrs["layout"] = LAYOUT
            f.attrs["run"] = json.dumps(dict(run_meta), sort_keys=True, default=str)
            f.create_dataset("index", shape=(0,), maxshape=(None,), dtype="i8", chunks=(1,), fletcher32=True)
            data, shape = f.create_group("data"), f.create_group("shape")
            for fld in fields:
                a = fld.array
                if fld.kind == "scalar" or a.ndim == 0:
                    ds = data.create_dataset(fld.name, shape=(0,), maxshape=(None,), dtype=a.dtype, chunks=(1,),
                                             fletcher32=True)
                else:
                    extra = {"compression": "gzip", "compression_opts": 4, "shuffle": True} \
                        if a.ndim >= 2 and a.dtype.kind == "f" else {}
                    room = extent(fld)
                    ds = data.create_dataset(fld.name, shape=(0, *room), maxshape=(None, *room),
                                             dtype=a.dtype, chunks=_chunk(room, a.dtype.itemsize),
                                             fletcher32=True, **extra)
                    shape.create_dataset(fld.name, shape=(0, a.ndim), maxshape=(None, a.ndim), dtype="i8",
                                         chunks=(1, a.ndim), fletcher32=True)
                ds.attrs["kind"] = fld.kind
            f.swmr_mode = True
            f.flush()
            os.rename(tmp, path)
            self._index = f["index"]
            self._handles = [(f["data"][fld.name], f["shape"].get(fld.name)) for fld in fields]
        except BaseException:
            f.close()
            tmp.unlink(missing_ok=True)
            raise
        self.rows = 0

    def fits(self, fields: list[Field]) -> bool:
        """Whether ``fields`` have this segment's names and types and fit its array extents."""
        return tuple(f.key for f in fields) == self.key and all(
            all(s <= r for s, r in zip(f.array.shape, self.room[f.name])) for f in fields if f.name in self.room
            and f.kind != "scalar" and f.array.ndim)

    def append(self, index: int, fields: list[Field]) -> int:
        """Write one record as row ``self.rows``; it counts once its index entry is flushed."""
        row = self.rows
        for fld, (ds, sh) in zip(fields, self._handles):
            a = fld.array
            if sh is None:
                _put(ds, (row + 1,), row, a.reshape(1))
                continue
            _put(ds, (row + 1, *ds.shape[1:]), row, a[np.newaxis])
            _put(sh, (row + 1, a.ndim), row, np.asarray([a.shape], dtype=np.int64))
        self.file.flush()  # the data first ...
        _put(self._index, (row + 1,), row, np.asarray([index], dtype=np.int64))
        self.file.flush()  # ... then its commit mark
        self.rows = row + 1
        return row

    def close(self) -> None:
        if self.file.id.valid:
            self.file.close()


_SHARED: dict[str, list] = {}  # path → [SegmentReader, users]


def acquire_reader(path: Path, run_id: str) -> "SegmentReader":
    """One reader per segment file per process. HDF5 shares the state of a file opened twice
    in one process, and a second SWMR handle then reads stale chunk indexes (fill values for
    committed rows, measured in tests/test_store_faults.py): every Store in the process shares one."""
    key = os.path.realpath(path)
    entry = _SHARED.get(key)
    if entry is None or not entry[0].file.id.valid:
        entry = _SHARED[key] = [SegmentReader(path, run_id), 0]
    entry[1] += 1
    return entry[0]


def release_reader(reader: "SegmentReader") -> None:
    key = os.path.realpath(reader.path)
    entry = _SHARED.get(key)
    if entry is None or entry[0] is not reader:
        reader.close()
        return
    entry[1] -= 1
    if entry[1] <= 0:
        del _SHARED[key]
        reader.close()


class SegmentReader:
    """Reads committed rows of a segment (closed, live, or left by a killed writer)."""

    def __init__(self, path: Path, run_id: str, file: h5py.File | None = None):
        self.path, self.run_id = path, run_id
        self._own = file is None
        try:
            self.file = file if file is not None else open_swmr_reader(path)
            self.file["index"]
        except (OSError, KeyError, RuntimeError, ValueError) as exc:
            raise StoreError(f"{path}: run {run_id}: segment unreadable (damaged or truncated): {exc}") from None
        self.damage: list[str] = []
        self._handles: list | None = None
        self._rows: tuple[int, dict[int, int]] | None = None
        self._stale = True

    def rows(self) -> dict[int, int]:
        """Record index → row of every committed row whose index entry reads back intact."""
        idx = self.file["index"]
        idx.refresh()
        n = idx.shape[0]
        if self._rows is not None and self._rows[0] == n:
            return self._rows[1]  # committed rows never change: only new ones need reading
        self._stale = True  # new commits: the data datasets' cached metadata must be refreshed
        try:
            values = [int(v) for v in idx[:n]]
            self._rows = (n, {v: r for r, v in enumerate(values)})
            return self._rows[1]
        except OSError:
            pass
        out, self.damage = {}, []
        for start in range(0, n, 256):  # a damaged chunk index hides a block of rows: read around it
            stop = min(n, start + 256)
            try:
                out.update((int(v), r) for r, v in zip(range(start, stop), idx[start:stop]))
                continue
            except OSError:
                pass
            failed = 0
            for r in range(start, stop):
                try:
                    out[int(idx[r])] = r
                except OSError as exc:
                    failed += 1
                    self.damage.append(f"{self.path}: run {self.run_id}: index entry of row {r} damaged: {exc}")
                    if failed == 8 and r == start + 7:
                        self.damage.append(f"{self.path}: run {self.run_id}: rows {r + 1}..{stop - 1} not tried")
                        break
        return out

    def fields(self) -> list[str]:
        return list(self.file["data"])

    def read(self, row: int, index: int) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        try:
            if self._handles is None:
                self._handles = [(name, ds, str(ds.attrs["kind"]), self.file["shape"].get(name))
                                 for name, ds in self.file["data"].items()]
            if self._stale:  # rows committed after our last look: their data was flushed before
                for _, ds, _, sh in self._handles:  # the index entry we saw, so a refresh shows it
                    ds.refresh()
                    if sh is not None:
                        sh.refresh()
                self._stale = False
        except (OSError, KeyError, ValueError, RuntimeError) as exc:
            raise StoreError(f"{self.path}: run {self.run_id}, record {index}: segment damaged ({exc}); "
                             "`hil store check` lists all damage, `hil store repair` saves the rest") from None
        data: dict[str, np.ndarray] = {}
        attrs: dict[str, Any] = {}
        for name, ds, kind, sh in self._handles:
            try:
                if sh is None:
                    value = _get(ds, row, ())[0]
                else:
                    shape = tuple(int(s) for s in _get(sh, row, (ds.ndim - 1,))[0])
                    if any(s > c for s, c in zip(shape, ds.shape[1:])):
                        ds.refresh()
                    if any(s > c for s, c in zip(shape, ds.shape[1:])):
                        raise OSError(f"stored shape {shape} exceeds the dataset {ds.shape[1:]}")
                    value = _get(ds, row, shape)[0]
            except (OSError, KeyError, ValueError, RuntimeError) as exc:
                raise StoreError(f"{self.path}: run {self.run_id}, record {index}, field {name!r}: damaged on disk "
                                 f"({exc}); `hil store check` lists all damage, `hil store repair` saves the rest")
            if kind == "str":
                attrs[name] = bytes(value).decode("utf-8", errors="replace")
            elif kind == "bytes":
                attrs[name] = bytes(value)
            elif kind == "scalar":
                attrs[name] = value
            else:
                data[name] = value
        return data, attrs

    def close(self) -> None:
        if self._own and self.file.id.valid:
            self.file.close()
