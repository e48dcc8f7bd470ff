"""Verify a store record by record, and copy what is readable into a new store.

``check`` reads every committed record of every run (so every chunk's fletcher32
checksum is verified) and every run's ``run.json`` CRC; it lists each damaged
record by file, run, record index and field. ``repair`` never writes in place:
it creates a new store and copies into it every record that reads back intact,
keeping each run's id, provenance and status. It also converts a single-file
store of older spin-hil versions (which had no checksums), padding a file cut
short by a full disk back to its stored end first, which is what makes HDF5
open it again.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from hil.errors import StoreError
from hil.store import COMPLETE, RUNNING, Store, is_legacy
from hil.store_files import read_json


@dataclass
class Report:
    """What a check or repair found. ``damage``: one line per damaged thing."""

    runs: int = 0
    records: int = 0
    damage: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    lost: dict[str, int] = field(default_factory=dict)  # run → records not recovered (repair)


def check(path: str | Path, say: Callable[[str], None] = lambda s: None) -> Report:
    """Read every record of the store at ``path``; the report lists all damage."""
    path = Path(path)
    rep = Report()
    if path.is_file() and is_legacy(path):
        rep.damage.append(f"{path}: a single-file store of an older spin-hil: it has no checksums, so its "
                          f"records cannot be verified; convert it with `hil store repair {path} --out NEW.h5`")
        return rep
    store = Store(path, "r")
    try:
        for run_dir in sorted(p for p in (path / "runs").iterdir() if p.is_dir()):
            if not (run_dir / "run.json").exists():
                rep.notes.append(f"{run_dir}: a run whose creation was interrupted (no run.json, no records)")
                continue
            rep.runs += 1
            run_id = run_dir.name
            try:
                read_json(run_dir / "run.json")
            except StoreError as exc:
                rep.damage.append(str(exc))
            run = store.run(run_id)
            done = run.completed()
            rep.damage += run.damage
            bad = 0
            for i in done:
                try:
                    run.record(i)
                    rep.records += 1
                except StoreError as exc:
                    bad += 1
                    rep.damage.append(str(exc))
            leftovers = sorted(p.name for p in run_dir.glob("*.tmp"))
            if leftovers:
                rep.notes.append(f"{run_dir}: leftovers of an interrupted segment start: {', '.join(leftovers)}")
            say(f"{run_id}: {len(done) - bad} of {len(done)} records verified")
    finally:
        store.close()
    return rep


def repair(src: str | Path, out: str | Path, say: Callable[[str], None] = lambda s: None) -> Report:
    """Copy every readable record of ``src`` into the new store ``out`` (which must not exist)."""
    src, out = Path(src), Path(out)
    if out.exists():
        raise StoreError(f"{out} exists; repair writes a new store, never over an existing one")
    if src.resolve() == out.resolve():
        raise StoreError("repair never writes in place: give --out a new path")
    if not src.exists():
        raise StoreError(f"{src}: no such file")
    rep = Report()
    with Store(out) as dst:
        if src.is_file():
            _repair_legacy(src, dst, rep, say)
        else:
            _repair_store(src, dst, rep, say)
    return rep


def _copy_run(dst: Store, run_id: str, meta: dict[str, Any], records, rep: Report, say) -> None:
    run = dst._adopt_run(run_id, meta)
    copied = lost = 0
    for index, rec in records:
        if rec is None:
            lost += 1
            continue
        run.write_record(index, rec)
        copied += 1
    run._save(dict(meta, status=meta.get("status", RUNNING)))
    run._release()
    rep.runs += 1
    rep.records += copied
    rep.lost[run_id] = lost
    say(f"{run_id}: {copied} records copied" + (f", {lost} lost to damage" if lost else ""))


def _repair_store(src: Path, dst: Store, rep: Report, say) -> None:
    store = Store(src, "r")
    try:
        for run_dir in sorted(p for p in (src / "runs").iterdir() if (p / "run.json").exists()):
            run_id = run_dir.name
            run = store.run(run_id)
            try:
                meta = read_json(run_dir / "run.json")
            except StoreError as exc:
                rep.damage.append(str(exc))
                meta = _meta_from_segments(run_dir) or {"protocol": "?", "params": "{}", "bench": "", "started": "",
                                                         "ended": "", "status": RUNNING, "message": ""}
                meta["message"] = (meta.get("message") or "") + " [provenance from a segment copy: run.json damaged]"
            done = run.completed()
            rep.damage += run.damage

            def records():
                for i in done:
                    try:
                        r = run.record(i)
                        yield i, {**r.data, **r.attrs}
                    except StoreError as exc:
                        rep.damage.append(str(exc))
                        yield i, None

            _copy_run(dst, run_id, meta, records(), rep, say)
    finally:
        store.close()


def _meta_from_segments(run_dir: Path) -> dict | None:
    from hil.store_segment import open_swmr_reader

    for seg in sorted(run_dir.glob("seg-*.h5")):
        try:
            with open_swmr_reader(seg) as f:
                return json.loads(f.attrs["run"])
        except Exception:
            continue
    return None


def _open_legacy(src: Path, rep: Report):
    import h5py

    try:
        return h5py.File(src, "r"), None
    except OSError as exc:
        m = re.search(r"stored_eof\s*=\s*(\d+)", str(exc))
        if not m:
            raise StoreError(f"{src}: cannot be opened as HDF5 ({exc}); nothing to recover") from None
    tmpdir = Path(tempfile.mkdtemp(prefix="hil-repair-"))
    padded = tmpdir / src.name
    shutil.copyfile(src, padded)
    with open(padded, "r+b") as fh:
        fh.truncate(int(m.group(1)))
    rep.notes.append(f"{src}: cut short (a full disk?); read a copy padded to its stored end of {m.group(1)} bytes")
    return h5py.File(padded, "r"), tmpdir


def _repair_legacy(src: Path, dst: Store, rep: Report, say) -> None:
    f, tmpdir = _open_legacy(src, rep)
    rep.notes.append(f"{src}: older single-file store without checksums: values are copied as read")
    try:
        for run_id in list(f.get("runs", {})):
            try:
                g = f["runs"][run_id]
                meta = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in g.attrs.items()}
                meta = {k: (v.item() if hasattr(v, "item") else v) for k, v in meta.items()}
                names = list(g["records"])
            except Exception as exc:
                rep.damage.append(f"{src}: run {run_id}: unreadable ({exc})")
                continue
            meta.setdefault("status", RUNNING)
            if meta["status"] not in (COMPLETE, RUNNING, "failed"):
                meta["status"] = RUNNING

            def records(g=g, names=names, run_id=run_id):
                seen = set()
                for name in names:
                    try:
                        rg = g["records"][name]
                        if not rg.attrs.get("complete", False):
                            continue
                        index = int(name.split(".")[0])
                        if index in seen:
                            continue
                        rec = {k: rg[k][()] for k in rg}
                        rec.update({k: (v.decode() if isinstance(v, bytes) else v)
                                    for k, v in rg.attrs.items() if k != "complete"})
                        seen.add(index)
                        yield index, rec
                    except Exception as exc:
                        rep.damage.append(f"{src}: run {run_id}, record {name}: unreadable ({exc})")
                        yield -1, None

            _copy_run(dst, run_id, meta, records(), rep, say)
    finally:
        f.close()
        if tmpdir is not None:
            shutil.rmtree(tmpdir, ignore_errors=True)
