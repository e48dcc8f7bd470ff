"""``hil view`` without a browser: the store poller, the stream follower and the page's models.

The browser test (tests/test_view_browser.py) drives the whole thing in headless
Chromium; these check the parts one by one, fast, on any machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np
import pytest
import zmq

from hil.app.view import origins_for
from hil.app.view_data import StorePoller, planned_points, short_params
from hil.app.view_stream import StreamFollower, label_line
from hil.labels import COLOURS
from hil.store import Store
from hil.stream import SCHEMA

PS = 1e-12


def label_msg(process: str, seq: int, label: str = "breathing", kind: str = "label", **extra) -> list[bytes]:
    header = {"schema": SCHEMA, "kind": kind, "process": process, "seq": seq, "frames": seq + 1, "gaps": 0,
              "label": label, "probs": [0.9, 0.05, 0.05], "sent": time.time() - 0.002, **extra}
    return [kind.encode(), json.dumps(header).encode(), b""]


# -- the stream ----------------------------------------------------------------------------------

def test_follower_counts_what_watch_counts():
    f = StreamFollower("tcp://127.0.0.1:1")  # never started: messages are handed in directly
    for seq in (0, 1, 3):  # label 2 never arrived: lost
        f.handle(label_msg("p0", seq, gaps=1 if seq == 3 else 0))
    f.handle([b"label", b"{not json", b""])
    f.handle([b"label", json.dumps({"schema": 99}).encode(), b""])
    f.handle(label_msg("p0", 3, kind="final", label="switching", gaps=1))
    h = f.health()
    assert (h.labels, h.finals, h.lost, h.malformed, h.gaps) == (3, 1, 1, 2, 1)
    assert 1.0 < h.p50_ms < 1000 and h.p99_ms >= h.p50_ms and h.rate > 0
    assert h.state.startswith("receiving") and "lost 1" in h.text() and "malformed 2" in h.text()
    snap = f.snapshot()
    (p,) = snap["processes"]
    assert p.seqs == [0, 1, 3] and p.final == "switching" and snap["finals"] == {"switching": 1}
    assert not h.frames_carried and p.frame is None
    assert label_line({"kind": "label", "process": "p0", "seq": 1, "label": "breathing", "probs": [0.5, 0.25]}) \
        == "p0  #1   breathing      [0.50 0.25]"


def test_follower_shows_a_frame_when_the_label_carries_one():
    f = StreamFollower("tcp://127.0.0.1:1")
    frame = np.linspace(-1, 1, 16, dtype=np.float32).reshape(4, 4)
    parts = label_msg("p", 0, dtype="float32", shape=[4, 4])
    f.handle([parts[0], parts[1], frame.tobytes()])
    assert f.health().frames_carried
    np.testing.assert_array_equal(f.snapshot()["processes"][0].frame, frame)


def test_follower_survives_a_labeller_restart():
    ctx = zmq.Context()
    port = _free_port()
    endpoint = f"tcp://127.0.0.1:{port}"
    follower = StreamFollower(endpoint, context=ctx, poll_ms=20).start()
    try:
        for round_, name in enumerate(("first", "second")):
            pub = ctx.socket(zmq.PUB)
            pub.setsockopt(zmq.LINGER, 0)
            pub.bind(endpoint)
            deadline = time.monotonic() + 10
            seq = 0
            while follower.health().labels < 3 * (round_ + 1) and time.monotonic() < deadline:
                pub.send_multipart(label_msg(name, seq))  # the slow-joiner: resend until it arrives
                seq += 1
                time.sleep(0.05)
            pub.close()  # the labeller stops
            time.sleep(0.2)
        snap = follower.snapshot()
        assert {p.process for p in snap["processes"]} == {"first", "second"}
        assert snap["health"].malformed == 0
    finally:
        follower.stop()
        ctx.term()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- the store -----------------------------------------------------------------------------------

def bias_record(i: int) -> dict:
    f = np.linspace(4e9, 5e9, 51)
    p = -90 + 20 * np.exp(-((f - 4.4e9 - 1e7 * i) / 2e7) ** 2)
    return {"current": 1e-3 * i, "voltage": 0.1 * i, "frequency": f, "power_dbm": p,
            "peak_frequency": float(f[np.argmax(p)]), "peak_power_dbm": float(p.max()),
            "zero_span_time": np.linspace(0, 1e-6, 11), "zero_span_dbm": np.full(11, -70.0)}


WRITER = """
import json, sys
import numpy as np
sys.path.insert(0, sys.argv[4])
from test_view import bias_record
from hil.store import Store
store = Store(sys.argv[1])
run = store.create_run("bias_sweep", json.loads(sys.argv[2]), sys.argv[3])
print(run.run_id, flush=True)
for line in sys.stdin:
    if line.strip() == "finish":
        run.finish("complete")
        break
    run.write_record(int(line), bias_record(int(line)))
    print("ok", flush=True)
store.close()
"""


class Writer:
    """A run written by another process, one record per command (HDF5 keeps one process's opens of a file
    together, so a reader in the writer's own process is not what the view meets)."""

    def __init__(self, path, params, bench_text=""):
        from pathlib import Path

        self.proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path), json.dumps(params), bench_text,
                                      str(Path(__file__).parent)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)
        self.run_id = self.proc.stdout.readline().strip()

    def write(self, i: int) -> None:
        self.proc.stdin.write(f"{i}\n")
        self.proc.stdin.flush()
        assert self.proc.stdout.readline().strip() == "ok"

    def finish(self) -> None:
        self.proc.stdin.write("finish\n")
        self.proc.stdin.flush()
        assert self.proc.wait(30) == 0


def test_poller_follows_a_run_while_it_is_written(tmp_path):
    path = tmp_path / "s.h5"
    poller = StorePoller(path, tick_s=0.0)
    poller.tick(force=True)
    assert "no such file" in poller.error  # refused, said why, and tried again next tick
    writer = Writer(path, {"currents": [0.0, 1e-3, 2e-3, 3e-3]}, 'name = "sim"\n')
    try:
        for i in range(2):
            writer.write(i)
        poller.tick(force=True)
        assert poller.error is None
        (row,) = poller.rows
        assert (row.done, row.total, row.bench, row.protocol) == (2, 4, "sim", "bias_sweep")
        assert row.status.startswith("running (pid") and row.progress == "2 / 4"
        poller.want([writer.run_id])
        poller.tick(force=True)
        f = poller.follow(writer.run_id)
        assert [s["index"] for s in f.summaries] == [0, 1] and f.latest.index == 1
        writer.write(2)
        poller.want([writer.run_id])
        poller.tick(force=True)
        assert [s["index"] for s in f.summaries] == [0, 1, 2] and f.summaries[2]["current"] == pytest.approx(2e-3)
    finally:
        writer.finish()
    poller.tick(force=True)
    assert poller.rows[0].status == "complete" and poller.rows[0].rate is not None


def test_poller_bounds_its_work_per_tick(tmp_path):
    path = tmp_path / "s.h5"
    with Store(path) as store:
        run = store.create_run("custom", {})
        for i in range(10):
            run.write_record(i, {"x": float(i)})
        run.finish("complete")
    poller = StorePoller(path, tick_s=0.0, max_records=4)
    for expected in (4, 8, 10):
        poller.want([run.run_id])
        poller.tick(force=True)
        assert len(poller.follow(run.run_id).summaries) == expected
    assert poller.rows[0].total is None and poller.rows[0].progress == "10 / ?"


def test_a_damaged_record_is_shown_as_damaged_and_the_rest_still_read(tmp_path):
    path = tmp_path / "s.h5"
    marker = np.arange(1000, dtype=np.float64) * 1.2345
    with Store(path) as store:
        run = store.create_run("custom", {})
        for i in range(3):
            run.write_record(i, {"x": marker + i, "n": i})
        run.finish("complete")
    (segment,) = (path / "runs" / run.run_id).glob("seg-*.h5")
    raw = bytearray(segment.read_bytes())
    at = raw.find((marker + 1).tobytes())  # record 1's data chunk
    assert at > 0
    raw[at + 4000] ^= 0xFF
    segment.write_bytes(bytes(raw))
    poller = StorePoller(path, tick_s=0.0)
    for _ in range(3):  # a failed read is tried once more before it is called damaged
        poller.want([run.run_id])
        poller.tick(force=True)
    f = poller.follow(run.run_id)
    assert [d["index"] for d in f.damaged] == [1] and "damaged" in f.damaged[0]["damaged"]
    assert sorted(s["index"] for s in f.summaries if not s.get("damaged")) == [0, 2]


def test_planned_points_and_params_text():
    assert planned_points("process_diagram", {"alphas": [0.1, 0.2], "widths": [1e-12, 2e-12, 3e-12]}) == 6
    assert planned_points("bias_sweep", {"currents": [0.0, 0.001]}) == 2
    assert planned_points("no_such_protocol", {}) is None
    assert short_params({"currents": [0.0, 1e-3, 2e-3, 3e-3]}) == "currents=[0 … 0.003] (4)"


# -- the page (Bokeh models, no browser) -----------------------------------------------------------

def test_page_shows_records_diagram_and_damage(tmp_path):
    from bokeh.document import Document

    from hil.app.view_layout import Page

    path = tmp_path / "s.h5"
    with Store(path) as store:
        sweep = store.create_run("bias_sweep", {"currents": [0.0, 1e-3, 2e-3]}, 'name = "sim"\n', run_id="a-sweep")
        for i in range(2):
            sweep.write_record(i, bias_record(i))
        sweep.finish("complete")
        spec = {"alphas": [0.1, 0.3], "widths": [8 * PS, 28 * PS], "theta_deg": 40.0, "temperature": 0.0, "size": 8}
        diagram = store.create_run("process_diagram", spec, run_id="b-diagram")
        for i, label in enumerate(("breathing", "collapse", "switching")):
            diagram.write_record(i, {"alpha": spec["alphas"][i // 2], "t_w": spec["widths"][i % 2], "label": label,
                                     "frames": np.zeros((2, 8, 8), np.float32), "times": np.array([0.0, 1e-11])})
        diagram.finish("failed", "stopped by the test")
    poller = StorePoller(path, tick_s=0.0)
    page = Page(Document(), poller, None, tick_s=0.3)
    for _ in range(3):
        page.update()
    assert page.selected == "b-diagram"  # the newest
    assert list(page.runs_src.data["progress"]) == ["2 / 3", "3 / 4"]
    assert "points: <b>3 / 4</b>" in page.details.text and page.frame.visible
    assert list(page.diag_src.data["fill"]) == [COLOURS["breathing"], COLOURS["collapse"],
                                                COLOURS["switching"], "#ffffff"]
    assert "3 / 4</b> grid points done" in page.diag_info.text
    page._on_select("indices", [], [0])  # the user picks the sweep
    assert page.selected == "a-sweep"
    assert page.spectrum.visible and page.iv.visible and not page.frame.visible
    assert list(page.series_src.data["i_ma"]) == [0.0, 1.0]
    assert page.peak_src.data["f_ghz"][0] == pytest.approx(bias_record(1)["peak_frequency"] / 1e9)
    assert "no label stream" in page.health.text


def test_page_says_when_the_file_cannot_be_read(tmp_path):
    from bokeh.document import Document

    from hil.app.view_layout import Page

    bad = tmp_path / "plain.h5"
    bad.write_text("not a store")
    page = Page(Document(), StorePoller(bad, tick_s=0.0), None)
    assert "cannot read the file" in page.banner.text and "plain file" in page.banner.text


def test_origins_and_the_warning_for_a_non_loopback_host(tmp_path):
    assert origins_for("127.0.0.1", 8050, []) == ["localhost:8050", "127.0.0.1:8050"]
    assert "10.0.0.5:8050" in origins_for("10.0.0.5", 8050, ["lab-pc:9000"])
    proc = subprocess.Popen([sys.executable, "-m", "hil.app.cli", "view", str(tmp_path / "none.h5"), "--host",
                             "0.0.0.0", "--port", "0", "--no-stream"], stderr=subprocess.PIPE, text=True)
    try:
        seen = ""
        deadline = time.monotonic() + 30
        while "serving" not in seen and time.monotonic() < deadline:
            seen += proc.stderr.readline()
        assert "WARNING: binding 0.0.0.0" in seen and "no authentication" in seen
        assert "cannot read" in seen and "no such file" in seen  # the unreadable file, in the log
    finally:
        proc.terminate()
        proc.wait(10)
