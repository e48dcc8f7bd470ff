"""The run store: round trips, status, crash safety, resume, exclusive writing.

Faults (SIGKILL loops, disk full, byte flips, SWMR readers) are in test_store_faults.py."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from hil.errors import StoreError
from hil.store import Store


def test_round_trip_with_provenance(tmp_path):
    frames = np.random.default_rng(1).uniform(-1, 1, (8, 16, 16))
    with Store(tmp_path / "r.h5") as store:
        run = store.create_run("pulse_frames", {"amplitude": 5.0, "widths": [8e-12]}, "name = 'x'")
        run.write_record(0, {"frames": frames, "times": np.arange(8) * 15e-12, "width": 8e-12, "label": "breathing"})
        run.finish("complete")
        run_id = run.run_id
    with Store(tmp_path / "r.h5", "r") as store:
        run = store.run(run_id)
        a = run.attrs
        assert a["protocol"] == "pulse_frames" and a["status"] == "complete"
        assert a["params"] == {"amplitude": 5.0, "widths": [8e-12]}
        assert a["bench"] == "name = 'x'" and a["ended"] >= a["started"]
        rec = run.record(0)
        assert rec["frames"].dtype == np.float32
        np.testing.assert_allclose(rec["frames"], frames.astype(np.float32))
        assert rec["label"] == "breathing" and rec["width"] == 8e-12
        assert run.stack("times").shape == (1, 8)


def test_frames_are_chunked_and_compressed(tmp_path):
    import h5py

    with Store(tmp_path / "c.h5") as store:
        run = store.create_run("p", {})
        run.write_record(0, {"frames": np.zeros((5, 32, 32))})
    with h5py.File(tmp_path / "c.h5" / "runs" / run.run_id / "seg-0000.h5", "r", swmr=True) as f:
        d = f["data/frames"]
        assert d.chunks == (1, 5, 32, 32) and d.compression == "gzip" and d.fletcher32
        assert all(f[name].fletcher32 for name in ("index", "shape/frames"))


def test_complete_record_is_never_overwritten(tmp_path):
    with Store(tmp_path / "o.h5") as store:
        run = store.create_run("p", {})
        run.write_record(3, {"x": 1.0})
        with pytest.raises(StoreError, match="already complete"):
            run.write_record(3, {"x": 2.0})
        assert run.record(3)["x"] == 1.0


def test_unknown_run_lists_known(tmp_path):
    with Store(tmp_path / "u.h5") as store:
        store.create_run("p", {}, run_id="first")
        with pytest.raises(StoreError, match="no run 'second'; runs: first"):
            store.run("second")
        with pytest.raises(StoreError, match="exists"):
            store.create_run("p", {}, run_id="first")


def test_truncated_segment_gets_a_clear_error(tmp_path):
    path = tmp_path / "t.h5"
    with Store(path) as store:
        run = store.create_run("p", {}, run_id="r")
        for i in range(5):
            run.write_record(i, {"frames": np.ones((4, 64, 64))})
    seg = path / "runs" / "r" / "seg-0000.h5"
    data = seg.read_bytes()
    seg.write_bytes(data[: len(data) // 3])
    with Store(path, "r") as store:
        run = store.run("r")
        done = run.completed()
        assert len(done) < 5
        for i in done:  # what is still listed reads back exactly, or raises naming the file
            try:
                assert np.all(run.record(i)["frames"] == 1)
            except StoreError as exc:
                assert f"seg-0000.h5: run r, record {i}" in str(exc)


def test_plain_and_legacy_files_are_refused_with_the_way_out(tmp_path):
    import h5py

    h5py.File(tmp_path / "old.h5", "w").create_group("runs")
    with pytest.raises(StoreError, match="older spin-hil.*hil store repair"):
        Store(tmp_path / "old.h5", "r")
    (tmp_path / "junk").write_text("x")
    with pytest.raises(StoreError, match="not a readable"):
        Store(tmp_path / "junk", "r")
    with pytest.raises(StoreError, match="no such file"):
        Store(tmp_path / "missing.h5", "r")


def test_records_with_other_fields_or_shapes_round_trip(tmp_path):
    with Store(tmp_path / "v.h5") as store:
        run = store.create_run("p", {})
        run.write_record(0, {"x": np.arange(5.0), "n": 1, "label": "a"})
        run.write_record(1, {"x": np.arange(3.0), "n": 2, "label": "longer label"})  # shorter array
        run.write_record(2, {"x": np.arange(7.0), "n": 3.5, "flag": True, "raw": b"\x00\x01"})  # new fields
        run.write_record(3, {"x": np.zeros((0,)), "n": 4, "label": ""})
        run.finish()
    with Store(tmp_path / "v.h5", "r") as store:
        recs = list(store.run(run.run_id).records())
    assert [len(r["x"]) for r in recs] == [5, 3, 7, 0]
    assert recs[1]["label"] == "longer label" and recs[3]["label"] == "" and recs[2]["raw"] == b"\x00\x01"
    assert recs[2]["n"] == 3.5 and recs[0]["n"] == 1 and bool(recs[2]["flag"]) is True
    np.testing.assert_array_equal(recs[2]["x"], np.arange(7.0))


WRITER = r"""
import sys, time, numpy as np
from hil.store import Store
store = Store(sys.argv[1])
run = store.create_run("slow", {"n": 10_000}, run_id="victim")
print("started", flush=True)
i = 0
while True:
    run.write_record(i, {"frames": np.full((4, 32, 32), i, dtype=np.float32), "index": i})
    i += 1
"""


def _start_writer(path: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parent.parent)
    assert proc.stdout.readline().strip() == "started"
    return proc


def test_sigkill_mid_run_leaves_finished_records_and_resumes(tmp_path):
    path = tmp_path / "k.h5"
    proc = _start_writer(path)
    time.sleep(1.0)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with Store(path, "r") as store:
        info = store.runs()[0]
        assert info.status == "interrupted" and info.status_text == "interrupted"
    with Store(path) as store:  # reopens for writing: the lock died with the process
        run = store.run("victim")
        assert run.status == "interrupted"
        run.discard_incomplete()
        done = run.completed()
        assert len(done) > 3 and done == list(range(len(done)))
        for i in (0, done[-1]):
            rec = run.record(i)
            assert rec["index"] == i and np.all(rec["frames"] == i)
        # resume: only the missing records are written
        n = len(done)
        for i in range(n, n + 3):
            run.write_record(i, {"frames": np.full((4, 32, 32), i, dtype=np.float32), "index": i})
        run.finish("complete")
        assert run.completed() == list(range(n + 3))


def test_second_writer_is_refused_but_a_reader_may_look(tmp_path):
    path = tmp_path / "w.h5"
    proc = _start_writer(path)
    try:
        with pytest.raises(StoreError, match="open for writing by another process"):
            Store(path)
        with Store(path, "r", swmr=True) as reader:
            assert reader.run_ids() == ["victim"]
            (info,) = reader.runs()
            assert info.status_text == f"running (pid {proc.pid} on {socket.gethostname()})"
    finally:
        proc.kill()
        proc.wait()
