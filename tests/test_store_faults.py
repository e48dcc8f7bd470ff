"""The store's promise under faults: SIGKILL at random moments, a full disk, flipped
bytes, readers during a write, a dead writer's status, check and repair.

The ≥100-kill version with figures is ``benchmarks/faults_store.py``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from hil.errors import StoreError
from hil.store import Store
from hil.store_files import HOST, write_json

sys.path.insert(0, str(Path(__file__).parent))
from store_faults import kill_loop  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def _cli(*argv: str) -> tuple[int, str]:
    from hil.app.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            rc = main(list(argv))
        except SystemExit as exc:
            rc = exc.code
    return rc, out.getvalue()


def test_sigkill_at_random_moments_loses_no_finished_record(tmp_path):
    result = kill_loop(tmp_path / "k.h5", kills=20, seed=13, max_delay=0.15)
    assert result["problems"] == [] and result["lost"] == 0
    assert result["survived"] == result["tried"] == 20 and result["finished_records"] > 20
    rc, out = _cli("store", "check", str(tmp_path / "k.h5"))
    assert rc == 0, out


DISK_FULL = r"""
import resource, signal, sys, numpy as np
from hil.store import Store
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
with Store(sys.argv[1]) as store:
    first = store.create_run("p", {}, run_id="first")
    for i in range(10):
        first.write_record(i, {"trace": np.full(20001, float(i)), "i": i})
    first.finish()
    resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[2]), resource.RLIM_INFINITY))
    second = store.create_run("p", {}, run_id="second")
    i = 0
    try:
        while True:
            second.write_record(i, {"trace": np.full(20001, float(i)), "i": i})
            print(i, flush=True)
            i += 1
    except Exception as exc:
        print("error", type(exc).__name__, flush=True)
        second.finish("failed", f"{type(exc).__name__}: {exc}")
"""


@pytest.mark.parametrize("limit", [1_000_000, 3_000])  # mid-run, and before the segment can even be made
def test_disk_full_leaves_earlier_runs_and_records_readable(tmp_path, limit):
    path = tmp_path / "full.h5"
    proc = subprocess.run([sys.executable, "-c", DISK_FULL, str(path), str(limit)], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    lines = proc.stdout.split()
    assert "error" in lines, proc.stdout + proc.stderr
    finished = [int(x) for x in lines[:lines.index("error")]]
    assert (len(finished) > 2) == (limit > 100_000)
    with Store(path, "r") as store:
        first, second = store.run("first"), store.run("second")
        assert first.status == "complete" and first.completed() == list(range(10))
        assert all(np.all(r["trace"] == r.index) for r in first.records())
        assert set(finished) <= set(second.completed())
        assert all(np.all(second.record(i)["trace"] == i) for i in finished)
        assert second.info().status_text.startswith("failed: ")
    rc, out = _cli("store", "check", str(path))
    assert rc == 0, out


def _chunk_offset(seg: Path, field: str, row: int) -> tuple[int, int]:
    import h5py

    with h5py.File(seg, "r", swmr=True, locking=False) as f:
        ds = f["data"][field]
        info = ds.id.get_chunk_info_by_coord((row,) + (0,) * (ds.ndim - 1))
        return info.byte_offset, info.size


def _flip(seg: Path, offset: int, n: int = 3) -> None:
    with open(seg, "r+b") as fh:
        fh.seek(offset)
        data = bytearray(fh.read(n))
        fh.seek(offset)
        fh.write(bytes(b ^ 0x5A for b in data))


def test_flipped_bytes_raise_naming_the_record_and_repair_saves_the_rest(tmp_path):
    path, out = tmp_path / "f.h5", tmp_path / "fixed.h5"
    with Store(path) as store:
        run = store.create_run("p", {}, run_id="r")
        for i in range(5):
            run.write_record(i, {"power_dbm": np.full(20001, -89.65 + i), "frames": np.full((2, 16, 16), i),
                                 "current": 1e-3 * i})
        run.finish()
    seg = path / "runs" / "r" / "seg-0000.h5"
    offset, size = _chunk_offset(seg, "power_dbm", 2)
    _flip(seg, offset + size // 2)
    offset, size = _chunk_offset(seg, "current", 4)
    _flip(seg, offset, 2)
    with Store(path, "r") as store:
        run = store.run("r")
        assert run.completed() == [0, 1, 2, 3, 4]  # the index is intact; the damage is in the data
        with pytest.raises(StoreError, match=r"seg-0000\.h5: run r, record 2, field 'power_dbm': damaged"):
            run.record(2)
        with pytest.raises(StoreError, match=r"run r, record 4, field 'current': damaged"):
            run.record(4)
        assert run.record(3)["power_dbm"][0] == -89.65 + 3
    rc, text = _cli("store", "check", str(path))
    assert rc == 1 and "record 2, field 'power_dbm'" in text and "record 4, field 'current'" in text
    rc, text = _cli("store", "repair", str(path), "--out", str(out))
    assert rc == 0 and "3 records in 1 runs recovered; 2 damaged" in text
    with Store(out, "r") as store:
        run = store.run("r")
        assert run.completed() == [0, 1, 3] and run.status == "complete"
        assert run.record(1)["current"] == 1e-3
    assert _cli("store", "check", str(out))[0] == 0
    rc, text = _cli("store", "repair", str(path), "--out", str(out))
    assert rc != 0 and "exists; repair writes a new store" in text
    # provenance is checksummed too
    run_json = path / "runs" / "r" / "run.json"
    run_json.write_text(run_json.read_text().replace('"complete"', '"completx"'))
    rc, text = _cli("store", "check", str(path))
    assert rc == 1 and "CRC-32 mismatch" in text


def test_legacy_single_file_store_is_converted_by_repair(tmp_path):
    import h5py

    old, new = tmp_path / "old.h5", tmp_path / "new.h5"
    with h5py.File(old, "w") as f:
        g = f.create_group("runs/legacy")
        g.attrs.update(protocol="bias_sweep", params='{"n": 2}', bench="", started="t0", ended="t1",
                       status="complete", message="", version="0.1", host="h")
        for i in range(2):
            r = g.create_group(f"records/{i:06d}")
            r.create_dataset("trace", data=np.arange(4.0) * i)
            r.attrs.update(current=1e-3 * i, complete=True)
        g.create_group("records/000002").attrs["current"] = 0.5  # unfinished: not copied
    rc, text = _cli("store", "check", str(old))
    assert rc == 1 and "no checksums" in text
    assert _cli("store", "repair", str(old), "--out", str(new))[0] == 0
    with Store(new, "r") as store:
        run = store.run("legacy")
        assert run.completed() == [0, 1] and run.attrs["params"] == {"n": 2} and run.status == "complete"
        assert run.record(1)["current"] == 1e-3 and list(run.record(1)["trace"]) == [0, 1, 2, 3]


LIVE_WRITER = r"""
import sys, time, numpy as np
from hil.store import Store
with Store(sys.argv[1]) as store:
    run = store.create_run("live", {}, run_id="live")
    print("started", flush=True)
    for i in range(int(sys.argv[2])):
        rec = {"trace": np.full(20001, float(i)), "frames": np.full((8, 100, 100), i, np.float32), "i": i}
        if i >= 20:
            rec["extra"] = i  # other fields: a new segment while readers watch
        run.write_record(i, rec)
        time.sleep(0.01)
    run.finish()
"""


def test_swmr_readers_never_fail_during_a_write(tmp_path):
    path, n = tmp_path / "live.h5", 50
    proc = subprocess.Popen([sys.executable, "-c", LIVE_WRITER, str(path), str(n)], stdout=subprocess.PIPE,
                            text=True, cwd=ROOT)
    assert proc.stdout.readline().strip() == "started"
    reads, failures, seen_running = 0, [], False
    follower = Store(path, "r", swmr=True)  # one reader kept open, following the run
    try:
        while proc.poll() is None or reads == 0:
            for store in (follower, None):
                try:
                    if store is None:
                        with Store(path, "r", swmr=True) as fresh:
                            _read_last(fresh)
                    else:
                        _read_last(store)
                    reads += 1
                except Exception as exc:  # any failure counts
                    failures.append(repr(exc))
            rc, text = _cli("runs", str(path))
            seen_running |= f"running (pid {proc.pid} on {HOST})" in text
    finally:
        proc.wait(timeout=60)
        follower.close()
    assert failures == [] and reads > 10 and seen_running
    with Store(path, "r") as store:
        assert store.run("live").completed() == list(range(n)) and store.run("live").status == "complete"


def _read_last(store: Store) -> None:
    if not store.run_ids():
        return
    run = store.run("live")
    done = run.completed()
    assert done == list(range(len(done)))
    if done:
        rec = run.record(done[-1])
        assert rec["i"] == done[-1] and np.all(rec["trace"] == done[-1]) and np.all(rec["frames"] == done[-1])


def test_status_of_a_writer_on_another_host_follows_its_heartbeat(tmp_path):
    with Store(tmp_path / "h.h5") as store:
        store.create_run("p", {}, run_id="remote")
    beat = tmp_path / "h.h5" / "runs" / "remote" / "writer.json"
    write_json(beat, {"pid": 4242, "host": "lab-pc-7", "start": "", "heartbeat": time.time()})
    with Store(tmp_path / "h.h5", "r") as store:
        assert store.runs()[0].status_text == "running (pid 4242 on lab-pc-7)"
    write_json(beat, {"pid": 4242, "host": "lab-pc-7", "start": "", "heartbeat": time.time() - 3600})
    with Store(tmp_path / "h.h5", "r") as store:
        assert store.runs()[0].status_text == "interrupted"
    write_json(beat, {"pid": 2 ** 22 + 17, "host": HOST, "start": "", "heartbeat": time.time()})  # no such pid
    with Store(tmp_path / "h.h5", "r") as store:
        assert store.run("remote").status == "interrupted"
    rc, text = _cli("runs", str(tmp_path / "h.h5"))
    assert rc == 0 and "interrupted" in text


def test_sigkilled_writer_reads_interrupted_and_resumes(tmp_path):
    path = tmp_path / "s.h5"
    result = kill_loop(path, kills=1, seed=1, max_delay=0.1)
    assert result["lost"] == 0
    with Store(path, "r") as store:
        assert store.run("victim").info().status_text == "interrupted"
    with Store(path) as store:
        run = store.run("victim")
        done = run.completed()
        run.discard_incomplete()
        run.finish("running")
        assert run.info().status_text == f"running (pid {os.getpid()} on {HOST})"
        run.write_record(len(done), {"x": 1.0})
        run.finish()
        assert run.completed() == done + [len(done)]
    with Store(path, "r") as store:
        assert store.run("victim").status == "complete"
