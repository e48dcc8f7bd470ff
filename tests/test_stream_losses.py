"""``watch`` reports exact losses per process whatever the start order (issue 15).

The labeller's report (from the publisher's end-of-stream summary) says per
process what was published, labelled, never received, a gap, late, a
duplicate or refused; the watcher adds what it was shown. Every test checks
the report against ground truth kept apart from it: the frames the test
published and the labels the watcher's own collector saw.
"""

from __future__ import annotations

import itertools
import json
import threading
import time

import numpy as np
import pytest
import zmq

from hil.models.classifier_onnx import StepSession
from hil.stream import (KINDS_OUT, REPORT_FIELDS, FramePublisher, Labeller, Pacer, StreamAudit, decode, encode_summary,
                        publish_process, watch)
from tests.stream_helpers import free_port, model_path_fixture  # noqa: F401 (the fixture model_path)

FRAMES, PROCESSES, SIZE = 6, 8, 12


def frames_of(k: int) -> np.ndarray:
    return np.random.default_rng(k).uniform(-1, 1, (FRAMES, SIZE, SIZE)).astype(np.float32)


class Rig:
    """A publisher, a labeller and a watcher in threads of this process, on free loopback ports."""

    def __init__(self, model_path, rate: float = 60.0):
        self.ctx = zmq.Context()
        self.fin, self.fout = f"tcp://127.0.0.1:{free_port()}", f"tcp://127.0.0.1:{free_port()}"
        self.model_path, self.rate = model_path, rate
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        self.labeller: Labeller | None = None
        self.accounting = None
        self.errors: list[BaseException] = []
        self.audit = StreamAudit(expected=1, timeout=10.0)
        self.collected: dict[str, list[int]] = {}  # the watcher's own record: label seqs per process
        self.finals: set[str] = set()
        self.losses: list = []

    def _thread(self, target) -> None:
        def run():
            try:
                target()
            except BaseException as exc:  # noqa: BLE001 - handed to the test
                self.errors.append(exc)
        t = threading.Thread(target=run)
        t.start()
        self.threads.append(t)

    def start(self, name: str) -> None:
        getattr(self, f"start_{name}")()

    def start_label(self) -> None:
        self.labeller = Labeller(StepSession(self.model_path), self.fin, self.fout, context=self.ctx)
        self._thread(lambda: self.labeller.run(until=self.stop.is_set, poll_ms=20))

    def start_watch(self) -> None:
        def handle(h):
            self.audit(h)
            if h["kind"] == "label":
                self.collected.setdefault(h["process"], []).append(h["seq"])
            elif h["kind"] == "final":
                self.finals.add(h["process"])

        def until():
            self.losses += self.audit.poll()
            return bool(self.losses) or self.stop.is_set()

        self._thread(lambda: watch(self.fout, handle, until=until, context=self.ctx,
                                   kinds=(b"label", b"final", b"report")))

    def start_replay(self) -> None:
        def replay():
            pub = FramePublisher(self.fin, context=self.ctx, ack_timeout=5.0)
            try:
                pub.wait_for_subscribers(20)
                pacer = Pacer(self.rate)
                for k in range(PROCESSES):
                    publish_process(pub, f"p{k}", enumerate(frames_of(k)), rate=pacer)
                self.accounting = pub.finish()
            finally:
                pub.close()
        self._thread(replay)

    def close(self, wait: float = 20.0) -> None:
        deadline = time.monotonic() + wait  # replay and watch end by themselves, the labeller when told
        while time.monotonic() < deadline and (self.accounting is None or not self.losses) and not self.errors:
            time.sleep(0.02)
        self.stop.set()
        for t in self.threads:
            t.join(10)
        if self.labeller is not None:
            self.labeller.close()
        self.ctx.term()


def check_report(rig: Rig):
    """The report, process by process, equals the ground truth: published, labelled, shown here, the rest."""
    assert not rig.errors, rig.errors
    assert rig.accounting is not None and rig.accounting.ok, rig.accounting and rig.accounting.line()
    assert rig.accounting.unlabelled == 0 and rig.accounting.frames == PROCESSES * FRAMES
    assert len(rig.losses) == 1, rig.audit.notes
    loss = rig.losses[0]
    assert [r.process for r in loss.rows] == [f"p{k}" for k in range(PROCESSES)]
    for r in loss.rows:
        seen = rig.collected.get(r.process, [])
        assert seen == sorted(set(seen))  # in order, once each
        assert (r.published, r.labelled, r.shown) == (FRAMES, FRAMES, len(seen)), r
        assert (r.never, r.gaps, r.late, r.refused, r.unknown, r.duplicates) == (0, 0, 0, 0, 0, 0), r
        assert r.dropped == FRAMES - len(seen) and r.lost == r.dropped
        assert r.final == (r.process in rig.finals)
    total = loss.total
    shown = sum(len(v) for v in rig.collected.values())
    assert (total.published, total.labelled, total.shown, total.lost) == (PROCESSES * FRAMES, PROCESSES * FRAMES,
                                                                          shown, PROCESSES * FRAMES - shown)
    assert loss.lost == (total.lost > 0 or len(rig.finals) < PROCESSES)
    lines = loss.lines()
    assert lines[-1].endswith("nothing lost") if not loss.lost else f"{total.lost} of {PROCESSES * FRAMES}" in lines[-1]
    return loss


@pytest.mark.parametrize("order", list(itertools.permutations(("watch", "replay", "label"))),
                         ids=lambda o: "→".join(o))
def test_every_start_order_reports_exact_losses(model_path, order):
    rig = Rig(model_path)
    try:
        for name in order:
            rig.start(name)
            time.sleep(0.2)
    finally:
        rig.close()
    loss = check_report(rig)
    if order == ("label", "watch", "replay"):  # the watcher was there before the first frame: nothing lost
        assert not loss.lost, "\n".join(loss.lines())


def test_frames_the_labeller_never_got_are_told_apart(model_path):
    """A process published before the labeller subscribed (never received), a gap, a late frame, a duplicate
    and a refused frame: each counted as what it is, the duplicate and the late frame not stepped."""
    ctx = zmq.Context()
    fin, fout = f"tcp://127.0.0.1:{free_port()}", f"tcp://127.0.0.1:{free_port()}"
    pub = FramePublisher(fin, context=ctx, ack_timeout=5.0)
    stop = threading.Event()
    audit = StreamAudit(expected=1, timeout=10.0)
    losses: list = []
    labels: list[dict] = []
    lab = None
    threads = []
    try:
        publish_process(pub, "p0", enumerate(frames_of(0)))  # no labeller yet: the XPUB has nobody to send to
        lab = Labeller(StepSession(model_path), fin, fout, context=ctx, on_label=labels.append)
        threads.append(threading.Thread(target=lab.run, kwargs={"until": stop.is_set, "poll_ms": 20}))

        def until():
            losses.extend(audit.poll())
            return bool(losses) or stop.is_set()

        threads.append(threading.Thread(target=watch, args=(fout, audit),
                                        kwargs={"until": until, "context": ctx,
                                                "kinds": (b"label", b"final", b"report")}))
        for t in threads:
            t.start()
        pub.wait_for_subscribers(10)
        time.sleep(0.5)  # the watcher's subscription reaches the labeller
        f1 = frames_of(1)
        for seq in (0, 1, 1, 3, 2, 5):  # 1 twice, 2 after 3, 4 never
            pub.publish("p1", seq, 0.0, f1[seq])
        pub.end("p1", FRAMES)
        publish_process(pub, "p2", enumerate(frames_of(2)))
        f3 = frames_of(3)
        f3[2] = np.nan  # refused by the model's preparation
        publish_process(pub, "p3", enumerate(f3))
        acct = pub.finish()
        deadline = time.monotonic() + 10
        while not losses and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        stop.set()
        for t in threads:
            t.join(10)
        if lab is not None:
            lab.close()
        pub.close()
        ctx.term()
    # the publisher: p0 never labelled, p1 4 of 6, p3 5 of 6
    assert not acct.ok and acct.unlabelled == 6 + 2 + 1 and acct.per_labeller["labeller 0/1"][:3] == (9, 24, 3)
    assert "9 of 24 frames unlabelled" in acct.line()
    # the labeller stepped p1's frames 0, 1, 3, 5 only
    assert [h["seq"] for h in labels if h["process"] == "p1" and h["kind"] == "label"] == [0, 1, 3, 5]
    (loss,) = losses
    rows = {r.process: r for r in loss.rows}
    want = {  # published, labelled, never, gaps, late, refused, duplicates
        "p0": (6, 0, 6, 0, 0, 0, 0), "p1": (6, 4, 0, 1, 1, 0, 1), "p2": (6, 6, 0, 0, 0, 0, 0),
        "p3": (6, 5, 0, 0, 0, 1, 0)}
    for name, w in want.items():
        r = rows[name]
        assert (r.published, r.labelled, r.never, r.gaps, r.late, r.refused, r.duplicates) == w, r
        assert r.dropped == 0 and r.shown == r.labelled  # the watcher was subscribed before the frames came
    assert loss.total.lost == 6 + 2 + 1 and loss.lost
    assert not rows["p0"].final and all(rows[p].final for p in ("p1", "p2", "p3"))
    assert loss.finals_missing == 0  # p0 has no final: it never reached the labeller
    verdict = loss.lines()[-1]
    assert "9 of 24 frames' labels lost" in verdict and "never received 6" in verdict and "gap 1" in verdict \
        and "late 1" in verdict and "refused 1" in verdict


def report(stream: str, entries: list, index: int = 0, count: int = 1, part: int = 0, parts: int = 1,
           resent: bool = False, ended: float | None = None, labeller: str = "lab-0") -> dict:
    header = {"schema": 1, "kind": "report", "process": stream, "seq": part, "parts": parts, "stream": stream,
              "labeller": labeller, "index": index, "count": count, "resent": resent,
              "ended": time.time() if ended is None else ended}
    parsed, _ = decode([b"report", json.dumps(header).encode(), json.dumps(entries).encode()], KINDS_OUT)
    return parsed


def label(stream: str, process: str, seq: int, kind: str = "label") -> dict:
    return {"kind": kind, "stream": stream, "process": process, "seq": seq}


def test_audit_waits_for_every_labeller_then_names_a_silent_one():
    """Two labellers watched: the stream is reported once both have reported, all parts; a labeller that never
    reports leaves its processes 'unknown' after the timeout."""
    audit = StreamAudit(expected=2, timeout=0.2)
    procs = {f"p{k}": 3 for k in range(4)}
    from hil.stream import shard_of
    owner = {p: shard_of(p) % 2 for p in procs}
    assert set(owner.values()) == {0, 1}

    def entries(index):
        return [[p, n, 1, n, 0, 0, 0, 0] if owner[p] == index else [p, n] for p, n in procs.items()]

    for p in procs:
        for s in range(3):
            audit(label("S", p, s))
        audit(label("S", p, 2, "final"))
    audit(report("S", entries(0), 0, 2, labeller="a"))
    assert audit.poll() == []  # labeller 1 has not reported yet
    audit(report("S", entries(1), 1, 2, labeller="b"))
    (loss,) = audit.poll()
    assert loss.labellers == ["0/2", "1/2"] and not loss.lost and loss.total.shown == 12

    audit(report("T", entries(0), 0, 2, labeller="a"))
    time.sleep(0.25)
    (loss,) = audit.poll()
    assert loss.notes == ["labeller 1/2: no report within 0.2 s"]
    silent = [r for r in loss.rows if owner[r.process] == 1]
    assert silent and all(r.labelled is None and r.unknown == 3 for r in silent) and loss.lost


def test_a_report_in_parts_and_a_late_watcher():
    audit = StreamAudit(expected=1, timeout=5.0, started=time.time())
    audit(report("S", [["a", 2, 1, 2, 0, 0, 0, 0]], part=0, parts=2))
    assert audit.poll() == []  # part 1 still to come
    audit(report("S", [["b", 2, 0, 0, 0, 0, 0, 0]], part=1, parts=2))
    (loss,) = audit.poll()
    assert [(r.process, r.dropped, r.never) for r in loss.rows] == [("a", 2, 0), ("b", 0, 2)]
    # a report sent again for a watcher that came after the stream ended: noted, not reported
    audit(report("old", [["c", 2, 1, 2, 0, 0, 0, 0]], resent=True, ended=time.time() - 60))
    assert audit.poll() == [] and "stream old ended before this watcher started" in audit.notes[-1]
    # …but one it saw labels of is reported
    audit(label("seen", "d", 0))
    audit(report("seen", [["d", 2, 1, 2, 0, 0, 0, 0]], resent=True, ended=time.time() - 60))
    (loss,) = audit.poll()
    assert (loss.rows[0].shown, loss.rows[0].dropped) == (1, 1)
    # a report already reported, sent again: ignored
    audit(report("S", [["a", 2, 1, 2, 0, 0, 0, 0]], part=0, parts=2, resent=True))
    assert audit.poll() == []


def test_the_labeller_sends_its_report_again_to_a_late_watcher(model_path):
    ctx = zmq.Context()
    lab = Labeller(StepSession(model_path), "tcp://127.0.0.1:1", "tcp://127.0.0.1:0", context=ctx)
    sub = ctx.socket(zmq.SUB)
    try:
        for seq, frame in enumerate(frames_of(0)):
            lab.handle([b"s000", *_frame(seq, frame)[1:]])
        lab.handle(encode_summary("S1", 0, 1, [["p", FRAMES], ["q", 4]]))
        sub.connect(lab.out_endpoint)
        sub.setsockopt(zmq.SUBSCRIBE, b"report")
        got = None
        deadline = time.monotonic() + 5
        while got is None and time.monotonic() < deadline:
            lab._serve_watchers(time.monotonic())
            if sub.poll(50):
                got, _ = decode(sub.recv_multipart(), KINDS_OUT)
        assert got is not None and got["resent"] and got["stream"] == "S1"
        rows = {e[0]: dict(zip(REPORT_FIELDS, e)) for e in got["entries"]}
        assert rows["p"]["received"] == 1 and rows["p"]["labelled"] == FRAMES and rows["p"]["gaps"] == 0
        assert rows["q"]["received"] == 0  # never reached this labeller
    finally:
        sub.close(0)
        lab.close()
        ctx.term()


def _frame(seq, frame, process="p", stream="S1"):
    from hil.stream import encode_frame

    return encode_frame(process, seq, 0.0, frame, stream)


@pytest.mark.parametrize("entries, why", [
    ([["p", -1]], "bad summary entry"),
    ([["p", 1.5]], "bad summary entry"),
    ([["", 1]], "bad summary entry"),
    ([["p", 1, 2]], "bad summary entry"),
    ({"p": 1}, "must be a list"),
    ([["p", 1]] * 257, "at most 256"),
])
def test_a_malformed_summary_is_refused(entries, why):
    parts = encode_summary("S", 0, 1, [])
    with pytest.raises(ValueError, match=why):
        decode([parts[0], parts[1], json.dumps(entries).encode()])


@pytest.mark.parametrize("change, why", [
    ({"parts": 0}, "part seq of parts"), ({"seq": 3, "parts": 2}, "part seq of parts"),
    ({"stream": None}, "names its stream"), ({"stream": "x" * 65}, "stream must be a string"),
])
def test_a_malformed_summary_header_is_refused(change, why):
    topic, header, payload = encode_summary("S", 0, 1, [["p", 1]])
    h = json.loads(header)
    h.update(change)
    with pytest.raises(ValueError, match=why):
        decode([topic, json.dumps(h).encode(), payload])


def test_a_malformed_report_is_counted_by_watch_and_dropped():
    """watch decodes every message: one that does not parse goes to ``malformed``, the rest go on."""
    ctx = zmq.Context()
    pub = ctx.socket(zmq.PUB)
    port = pub.bind_to_random_port("tcp://127.0.0.1")
    got, bad = [], []
    good = report("S", [["a", 1, 1, 1, 0, 0, 0, 0]])
    del good["entries"]
    stop = threading.Event()
    t = threading.Thread(target=watch, args=(f"tcp://127.0.0.1:{port}", got.append),
                         kwargs={"until": stop.is_set, "context": ctx, "malformed": bad.append,
                                 "kinds": (b"label", b"final", b"report")})
    t.start()
    try:
        deadline = time.monotonic() + 5
        while not got and time.monotonic() < deadline:
            for parts in ([b"report", json.dumps({**good, "index": 3}).encode(), b"[]"],
                          [b"report", json.dumps(good).encode(), b'[["a", 1, 1]]'],
                          [b"label", b"{", b""],
                          [b"report", json.dumps(good).encode(), b'[["a", 1, 1, 1, 0, 0, 0, 0]]']):
                pub.send_multipart(parts)
            time.sleep(0.05)
    finally:
        stop.set()
        t.join(5)
        pub.close(0)
        ctx.term()
    assert got and got[0]["entries"] == [["a", 1, 1, 1, 0, 0, 0, 0]]
    assert len(bad) >= 3 and any("index" in b for b in bad) and any("bad report entry" in b for b in bad)
