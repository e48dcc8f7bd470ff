"""The publisher detects labellers that went away and says how many frames went unlabelled (issue 15).

``hil stream replay`` / ``publish`` hear every labeller's identity, heartbeats and acknowledgements on the
connection the frames go out on: a normal run exits 0 with nothing unlabelled; a labeller killed mid-stream
makes it exit 1 naming the frames it never labelled; a silent or hung labeller costs a bounded wait, never a hang;
garbage sent upstream is counted and dropped.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import zmq

from hil.errors import HilError
from hil.stream import (ACK, HELLO, SHARDS, FramePublisher, StreamStalled, publish_process, topic_of)
from hil.store import Store
from tests.stream_helpers import connected, free_port, model_path_fixture  # noqa: F401 (the fixture model_path)

HIL = [sys.executable, "-m", "hil.app.cli"]
N_PROC, T, L = 3, 8, 12


@pytest.fixture(scope="module")
def run_file(tmp_path_factory):
    """A small recorded run of processes, as `hil stream replay` reads it."""
    path = tmp_path_factory.mktemp("run") / "proc.h5"
    rng = np.random.default_rng(0)
    with Store(path) as store:
        run = store.create_run("process_diagram", {"synthetic": True}, run_id="r")
        for i in range(N_PROC):
            run.write_record(i, {"frames": rng.uniform(-1, 1, (T, L, L)).astype(np.float32), "label": "breathing"})
        run.finish("complete")
    return path


def wait_for_line(proc: subprocess.Popen, prefix: str, lines: int = 50) -> None:
    for _ in range(lines):
        line = proc.stderr.readline()
        if line.startswith(prefix) or not line:
            break
    assert line.startswith(prefix), f"child never said {prefix!r} (exit {proc.poll()})"


def label_process(model_path, fin: str, fout: str) -> subprocess.Popen:
    proc = subprocess.Popen(HIL + ["stream", "label", "--model", str(model_path), "--in", fin, "--out", fout],
                            stderr=subprocess.PIPE, text=True)
    wait_for_line(proc, "labeller ")
    return proc


def test_a_normal_run_exits_0_with_nothing_unlabelled_and_watch_reports_it_all(model_path, run_file):
    """The issue's order, watch → replay → label, with the CLI: replay says every frame was labelled; watch's
    table matches the label lines it printed, process by process."""
    fin, fout = f"tcp://127.0.0.1:{free_port()}", f"tcp://127.0.0.1:{free_port()}"
    watcher = subprocess.Popen(HIL + ["stream", "watch", fout, "--streams", "1", "--report-timeout", "20"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    replay = labeller = None
    try:
        wait_for_line(watcher, "watching ")
        replay = subprocess.Popen(HIL + ["stream", "replay", str(run_file), "--endpoint", fin, "--wait", "30",
                                         "--rate", "100", "--ack-timeout", "10"], stderr=subprocess.PIPE, text=True)
        labeller = label_process(model_path, fin, fout)
        _, replay_err = replay.communicate(timeout=60)
        out, err = watcher.communicate(timeout=60)
    finally:
        for p in (watcher, replay, labeller):
            if p is not None and p.poll() is None:
                p.terminate()
        if labeller is not None:
            labeller.communicate(timeout=10)
    assert replay.returncode == 0, replay_err
    assert re.search(rf"hil stream replay: {N_PROC * T} frames of {N_PROC} processes published, all labelled "
                     rf"\(labeller 0/1: 0 of {N_PROC * T} unlabelled\)", replay_err), replay_err
    shown_here: dict[str, int] = {}
    for line in out.splitlines():
        m = re.match(r"^(\S+)\s+#(\d+)\s", line)  # a label line: process  #seq  label  [probs]
        if m:
            shown_here[m.group(1)] = shown_here.get(m.group(1), 0) + 1
    rows = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) == 13 and f[0].endswith(tuple(f"/{i}" for i in range(N_PROC))):
            rows[f[0]] = [int(x) for x in f[1:12]]
    assert len(rows) == N_PROC, out
    lost = 0
    for process, (published, labelled, shown, n_lost, never, gap, late, refused, dropped, unknown, dup) in rows.items():
        assert (published, labelled, never, gap, late, refused, unknown, dup) == (T, T, 0, 0, 0, 0, 0, 0)
        assert shown == shown_here.get(process, 0)
        assert dropped == T - shown and n_lost == dropped
        lost += n_lost
    assert watcher.returncode == (1 if lost or "missing" in out.splitlines()[-1] else 0), err
    assert re.search(rf"watch: 1 streams reported, {lost} frames' labels lost", err), err


def test_a_labeller_killed_mid_stream_makes_replay_exit_1_naming_the_unlabelled_frames(model_path, run_file):
    fin, fout = f"tcp://127.0.0.1:{free_port()}", f"tcp://127.0.0.1:{free_port()}"
    labeller = label_process(model_path, fin, fout)
    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)  # the test's own count of what the labeller labelled
    sub.connect(fout)
    sub.setsockopt(zmq.SUBSCRIBE, b"label")
    replay = None
    try:
        time.sleep(0.3)
        replay = subprocess.Popen(HIL + ["stream", "replay", str(run_file), "--endpoint", fin, "--wait", "30",
                                         "--rate", "20", "--ack-timeout", "5"], stderr=subprocess.PIPE, text=True)
        seen = 0
        deadline = time.monotonic() + 30
        while seen < T + 2 and time.monotonic() < deadline:  # the first process and 2 frames of the second
            if sub.poll(100):
                sub.recv_multipart()
                seen += 1
        time.sleep(0.01)  # frames come every 50 ms: the labeller is idle, its acknowledgement sent
        os.kill(labeller.pid, signal.SIGKILL)
        labeller.wait(10)
        while sub.poll(300):  # labels already on their way
            sub.recv_multipart()
            seen += 1
        t0 = time.monotonic()
        _, err = replay.communicate(timeout=60)
        took = time.monotonic() - t0
    finally:
        sub.close(0)
        ctx.term()
        for p in (labeller, replay):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait(10)
    total = N_PROC * T
    assert seen >= T + 2
    assert replay.returncode == 1, err
    line = [x for x in err.splitlines() if x.startswith("hil: error: hil stream replay:")]
    assert len(line) == 1, err
    m = re.search(rf"(\d+) of {total} frames unlabelled — labeller 0/1 \(\S+ gone: disconnected after [\d.]+ s\): "
                  rf"\1 of {total} unlabelled in \d process", line[0])
    assert m, line[0]
    # Unlabelled is what no acknowledgement covers. The labeller acknowledges each batch right after its labels, so
    # a kill that falls between the two (a loaded machine can hold the labeller there) counts that batch too: at
    # 20 frames/s, one frame.
    assert 0 <= int(m.group(1)) - (total - seen) <= 1, (line[0], seen)
    assert "labeller 0/1" in err and "gone: disconnected" in err  # said when it happened, too
    assert took < 5  # nothing to wait for once the only labeller is gone


class FakeLabeller:
    """An XSUB that says who it is and subscribes to every shard, then does only what a test asks."""

    def __init__(self, ctx, endpoint: str, rcvhwm: int = 1000, index: int = 0, count: int = 1, lid: str = "fake"):
        self.sock = connected(ctx, zmq.XSUB, endpoint, RCVHWM=rcvhwm, RCVBUF=4096)
        self.id = lid
        self.sock.send(b"\x01" + HELLO + json.dumps({"id": lid, "index": index, "count": count}).encode())
        for s in range(SHARDS):
            if s % count == index:
                self.sock.send(b"\x01" + topic_of(s))

    def ack(self, entries) -> None:
        self.sock.send(ACK + json.dumps({"id": self.id, "p": entries}).encode())


def test_a_silent_labeller_counts_as_gone_after_the_timeout(tmp_path):
    """A labeller that stops talking (hung, or its host gone) without closing its connection: gone after
    ack_timeout, its frames unlabelled, and finish() waits no longer than that."""
    ctx = zmq.Context()
    notes: list[str] = []
    pub = FramePublisher("tcp://127.0.0.1:0", context=ctx, ack_timeout=0.5, on_note=notes.append)
    fake = FakeLabeller(ctx, pub.endpoint)
    try:
        pub.wait_for_subscribers(5)
        frames = np.zeros((4, 8, 8), np.float32)
        publish_process(pub, "a-0", enumerate(frames))
        fake.ack([["a-0", 4, 1]])  # the first process labelled, then silence
        publish_process(pub, "a-1", enumerate(frames))
        t0 = time.monotonic()
        acct = pub.finish()
        took = time.monotonic() - t0
    finally:
        fake.sock.close()
        pub.close()
        ctx.term()
    assert took < 2.0
    assert not acct.ok and acct.unlabelled == 4 and acct.per_labeller["labeller 0/1"][:3] == (4, 8, 1)
    assert "silent for" in acct.line() and "4 of 8 frames unlabelled" in acct.line()
    assert any("joined" in n for n in notes) and any("gone: silent" in n for n in notes)


def test_a_labeller_that_stops_reading_is_a_bounded_error_not_a_hang():
    ctx = zmq.Context()
    pub = FramePublisher("tcp://127.0.0.1:0", context=ctx, hwm=2, ack_timeout=0.5)
    pub.sock.setsockopt(zmq.SNDBUF, 4096)
    fake = FakeLabeller(ctx, pub.endpoint, rcvhwm=2)
    big = np.zeros((512, 512), np.float32)  # 1 MB a frame: the socket buffers fill after a few
    try:
        pub.wait_for_subscribers(5)
        t0 = time.monotonic()
        with pytest.raises(StreamStalled, match=r"no subscriber took a frame for 0.5 s"):
            for seq in range(200):
                pub.publish("big-0", seq, 0.0, big)
        assert time.monotonic() - t0 < 10
        acct = pub.finish()  # no summary sent on a stalled stream, no wait
    finally:
        fake.sock.close()
        pub.sock.close(0)
        ctx.term()
    assert not acct.ok and acct.stalled and "no subscriber took a frame" in acct.line()


def test_garbage_sent_upstream_is_counted_and_the_stream_goes_on():
    ctx = zmq.Context()
    pub = FramePublisher("tcp://127.0.0.1:0", context=ctx, ack_timeout=2.0)
    hostile = connected(ctx, zmq.XSUB, pub.endpoint)
    fake = FakeLabeller(ctx, pub.endpoint)
    garbage = [b"A{", b"A" + b"[" * 5000, b"A" + json.dumps({"id": "fake", "p": [["x", -1, 0]]}).encode(),
               b"A" + json.dumps({"id": "fake", "p": [["x", 1, 2]]}).encode(),
               b"A" + json.dumps({"id": "nobody", "p": []}).encode(),
               b"\x01L" + b'{"id": "x", "index": 2, "count": 1}', b"\x01L{nan}", b"Z", b"A" + b" " * 70_000]
    try:
        for g in garbage:
            hostile.send(g)
        hostile.send_multipart([b"A", b"two parts"])
        pub.wait_for_subscribers(5)
        deadline = time.monotonic() + 5
        while pub.malformed < len(garbage) + 1 and time.monotonic() < deadline:
            pub.sock.poll(50)
            pub.poll_upstream()
        publish_process(pub, "a-0", enumerate(np.zeros((3, 4, 4), np.float32)))
        fake.ack([["a-0", 3, 1], ["not-ours", 7, 1]])  # a process of no stream of ours: ignored
        acct = pub.finish()
    finally:
        hostile.close()
        fake.sock.close()
        pub.close()
        ctx.term()
    assert pub.malformed == len(garbage) + 1
    assert acct.ok and acct.line().endswith("all labelled (labeller 0/1: 0 of 3 unlabelled)")
    assert "not-ours" not in pub.labelled


def test_subscribers_that_do_not_acknowledge_are_not_accounted_and_do_not_fail():
    """A plain SUB on every shard (a recorder, an older labeller): its frames are not accounted for, not lost."""
    ctx = zmq.Context()
    pub = FramePublisher("tcp://127.0.0.1:0", context=ctx, ack_timeout=2.0)
    sub = connected(ctx, zmq.SUB, pub.endpoint)
    for s in range(SHARDS):
        sub.setsockopt(zmq.SUBSCRIBE, topic_of(s))
    try:
        pub.wait_for_subscribers(5)
        publish_process(pub, "a-0", enumerate(np.zeros((3, 4, 4), np.float32)))
        t0 = time.monotonic()
        acct = pub.finish()
        assert time.monotonic() - t0 < 1.0
    finally:
        sub.close()
        pub.close()
        ctx.term()
    assert acct.ok and acct.unaccounted == 3 and "do not acknowledge" in acct.line()


def test_ack_timeout_must_be_positive():
    with pytest.raises(HilError, match="ack_timeout must be > 0"):
        FramePublisher("tcp://127.0.0.1:0", ack_timeout=0)
