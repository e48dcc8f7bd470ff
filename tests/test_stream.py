"""Streaming: live labels equal offline ones; gaps, garbage and late joiners are handled."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest
import torch
import zmq

from hil.errors import HilError
from hil.models.classifier_onnx import StepSession
from hil.models.preprocess import profile
from hil.stream import FramePublisher, Labeller, LabelTally, Pacer, decode, encode_end, encode_frame, shard_of
from hil.models.classifier import ClassifierConfig, ProcessClassifier, export_onnx


@pytest.fixture(scope="module")
def onnx_model(tmp_path_factory):
    torch.manual_seed(0)
    cfg = ClassifierConfig(preprocessing="quantiles", input_size=32, hidden=16)
    model = ProcessClassifier(cfg)
    path = tmp_path_factory.mktemp("m") / "m.onnx"
    export_onnx(model, path, version="test")
    return model, path


def processes(n: int, frames: int = 6, size: int = 12, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {f"p{i}": rng.uniform(-1, 1, (frames, size, size)).astype(np.float32) for i in range(n)}


def test_onnx_matches_torch_on_whole_sequences(onnx_model):
    model, path = onnx_model
    session = StepSession(path)
    frames = processes(1, frames=10)["p0"]
    got = session.run_sequence(frames)
    xs = torch.from_numpy(profile(frames, "quantiles", 32))[None]
    want = torch.softmax(model.sequence_logits(xs), -1)[0].detach().numpy()
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_session_refuses_a_mismatched_frame(onnx_model, tmp_path):
    session = StepSession(onnx_model[1])
    with pytest.raises(HilError, match="frame refused"):
        session.prepare(np.full((1, 4, 4), np.nan, dtype=np.float32))
    with pytest.raises(HilError, match="expects"):
        session.step(np.zeros((1, 31), np.float32), session.initial_state())
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not onnx")
    with pytest.raises(HilError, match="not a loadable ONNX model"):
        StepSession(bad)


def test_decode_rejects_malformed_messages():
    good = encode_frame("p", 0, 0.0, np.zeros((4, 4), np.float32))
    assert decode(good)[1].shape == (4, 4)
    for parts, why in [(good[:2], "3 parts"), ([good[0], b"{", good[2]], "not JSON"),
                       ([good[0], good[1], good[2][:-4]], "payload"),
                       ([good[0], json.dumps({"schema": 99}).encode(), b""], "schema")]:
        with pytest.raises(ValueError, match=why):
            decode(parts)


def _serve(labellers, stop, spin_s=0.0):
    threads = [threading.Thread(target=lb.run, kwargs={"until": stop.is_set, "poll_ms": 20, "spin_s": spin_s})
               for lb in labellers]
    for t in threads:
        t.start()
    return threads


@pytest.mark.parametrize("spin_s", [0.0, 0.05], ids=["sleeping", "busy-polling"])
def test_interleaved_stream_equals_offline_with_two_labellers(onnx_model, spin_s):
    _, path = onnx_model
    ctx = zmq.Context()
    pub = FramePublisher("tcp://127.0.0.1:0", context=ctx)
    got: dict[str, list] = {}
    lock = threading.Lock()

    def collect(tag):
        def on_label(h):
            with lock:
                got.setdefault(h["process"], []).append((tag, h))
        return on_label

    labellers = [Labeller(StepSession(path), pub.endpoint, "tcp://127.0.0.1:0", index=i, count=2, context=ctx,
                          on_label=collect(i)) for i in range(2)]
    stop = threading.Event()
    threads = _serve(labellers, stop, spin_s)
    procs = processes(8)
    try:
        pub.wait_for_subscribers(timeout=5)
        for k in range(6):  # interleave: frame k of every process, then k + 1
            for name, frames in procs.items():
                pub.publish(name, k, k * 15e-12, frames[k])
        for name in procs:
            pub.end(name, 6)
        deadline = time.time() + 10
        while time.time() < deadline and sum(1 for v in got.values() for _, h in v if h["kind"] == "final") < 8:
            time.sleep(0.02)
    finally:
        stop.set()
        for t in threads:
            t.join()
        for lb in labellers:
            lb.close()
        pub.close()
        ctx.term()
    offline = StepSession(path)
    for name, frames in procs.items():
        events = got[name]
        assert len({tag for tag, _ in events}) == 1  # one labeller owns the process
        labels = [h for _, h in events if h["kind"] == "label"]
        assert [h["seq"] for h in labels] == list(range(6))
        np.testing.assert_allclose([h["probs"] for h in labels], offline.run_sequence(frames), atol=1e-6)
        final = [h for _, h in events if h["kind"] == "final"]
        assert len(final) == 1 and final[0]["gaps"] == 0 and final[0]["frames"] == 6
    shards = {shard_of(n) % 2 for n in procs}
    assert shards == {0, 1}  # the test really used both labellers


def test_gap_malformed_and_timeout_are_reported_not_fatal(onnx_model):
    session = StepSession(onnx_model[1])
    ctx = zmq.Context()
    out: list[dict] = []
    lb = Labeller(session, "tcp://127.0.0.1:1", "tcp://127.0.0.1:0", context=ctx, process_timeout=0.0,
                  on_label=out.append)
    try:
        frame = np.zeros((12, 12), np.float32)
        lb.handle(encode_frame("a", 0, 0.0, frame))
        lb.handle([b"s00", b"garbage", b""])
        lb.handle(encode_frame("a", 3, 0.0, frame))  # frames 1 and 2 never came
        lb.handle(encode_frame("b", 0, 0.0, np.zeros((12, 12), np.float64)[:, :1].copy()))  # 12×1: still fine
        assert lb.stats.malformed == 1 and lb.stats.gaps == 2
        assert out[-2]["gaps"] == 2
        lb.close_stale()  # timeout 0: every open process is closed with a final label
        finals = [h for h in out if h["kind"] == "final"]
        assert {h["process"] for h in finals} == {"a", "b"} and all(h["timed_out"] for h in finals)
    finally:
        lb.close()
        ctx.term()


def test_publisher_waits_for_a_late_labeller(onnx_model):
    ctx = zmq.Context()
    pub = FramePublisher("tcp://127.0.0.1:0", context=ctx)
    try:
        with pytest.raises(HilError, match="no labeller subscribed"):
            pub.wait_for_subscribers(timeout=0.2)
    finally:
        pub.close()
        ctx.term()


def test_refuses_non_loopback_bind():
    with pytest.raises(HilError, match="not loopback"):
        FramePublisher("tcp://0.0.0.0:5555")


def test_batched_waves_equal_one_message_at_a_time(onnx_model):
    """Stepping waiting frames of several processes as one batch changes no label and keeps each order."""
    session = StepSession(onnx_model[1])
    procs = processes(3, frames=4, seed=3)
    messages = []
    for k in range(4):  # interleaved, with one process ending mid-stream and a malformed message
        for name, frames in procs.items():
            messages.append(encode_frame(name, k, 1e-12 * k, frames[k]))
        if k == 1:
            messages.append(encode_end("p0", 2))
            messages.append([b"s00", b"{", b""])
            del procs["p0"]
    ctx = zmq.Context()
    runs = []
    try:
        for batched in (False, True):
            out: list[dict] = []
            lb = Labeller(session, "tcp://127.0.0.1:1", "tcp://127.0.0.1:0", context=ctx, on_label=out.append)
            if batched:
                lb.handle_batch(messages)
            else:
                for m in messages:
                    lb.handle(m)
            runs.append(({(h["process"], h["kind"], h["seq"]): h["probs"] for h in out},
                         [(h["process"], h["seq"]) for h in out if h["process"] == "p1"], lb.stats))
            lb.close()
    finally:
        ctx.term()
    (one, order1, st1), (batch, order2, st2) = runs
    assert one.keys() == batch.keys() and len(one) == 2 + 1 + 8  # p0: 2 labels + final; p1, p2: 4 each
    for key in one:
        np.testing.assert_allclose(batch[key], one[key], atol=1e-6)
    assert order1 == order2 == [("p1", k) for k in range(4)]
    assert (st2.frames, st2.malformed, st2.gaps) == (st1.frames, st1.malformed, st1.gaps) == (10, 1, 0)


def test_label_tally_counts_labels_that_never_arrived():
    tally = LabelTally()
    for process, seqs in (("a", [0, 1, 2]), ("b", [0, 3, 4])):  # b lost labels 1 and 2
        for s in seqs:
            tally({"kind": "label", "process": process, "seq": s})
        tally({"kind": "final", "process": process, "seq": seqs[-1]})
    tally({"kind": "label", "process": "a", "seq": 0})  # a process id seen again starts afresh
    assert (tally.labels, tally.finals, tally.missing) == (7, 2, 2)


def test_pacer_never_runs_ahead_of_its_rate_and_refuses_a_bad_one():
    pacer = Pacer(2000.0)
    t0 = time.perf_counter()
    for _ in range(41):
        pacer.wait()
    assert time.perf_counter() - t0 >= 40 / 2000.0  # 41 frames span at least 40 intervals
    late = pacer.next_at
    time.sleep(0.01)  # a slow producer: the frames due meanwhile go out at once, on the same schedule
    pacer.wait()
    assert pacer.next_at == pytest.approx(late + 1 / 2000.0)
    with pytest.raises(HilError, match="rate must be > 0"):
        Pacer(0.0)


def test_a_busy_poll_that_lost_its_core_gives_way_for_a_while():
    """A spin turn that finds more than SPIN_PREEMPTED_S passed since the last (the core was taken) stops spinning:
    the receiver blocks in poll, as a sleeping one, for ``backoff_s``."""
    from hil.stream import SPIN_PREEMPTED_S, Receiver

    ctx = zmq.Context()
    a, b = ctx.socket(zmq.PAIR), ctx.socket(zmq.PAIR)
    port = a.bind_to_random_port("tcp://127.0.0.1")
    b.connect(f"tcp://127.0.0.1:{port}")
    try:
        rx = Receiver(a, spin_s=10.0, poll_ms=30, backoff_s=0.3)
        assert rx.take() == [] and rx.backoffs == 0  # a spin turn: returns at once
        time.sleep(SPIN_PREEMPTED_S * 3)  # as if the scheduler gave the core away
        t0 = time.perf_counter()
        assert rx.take() == [] and rx.backoffs == 1
        assert time.perf_counter() - t0 >= 0.025  # it slept in poll instead of spinning
        t0 = time.perf_counter()
        rx.take()
        assert time.perf_counter() - t0 >= 0.025 and rx.backoffs == 1  # still giving way
        b.send(b"x")
        assert rx.take() == [[b"x"]]
        time.sleep(0.3)
        rx.last = time.perf_counter()
        t0 = time.perf_counter()
        assert rx.take() == [] and time.perf_counter() - t0 < 0.02  # spinning again
    finally:
        a.close(0)
        b.close(0)
        ctx.term()


def test_label_refuses_a_core_it_may_not_run_on(capsys):
    import os

    from hil.app.cli import main

    if not hasattr(os, "sched_setaffinity"):
        pytest.skip("no os.sched_setaffinity here")
    assert main(["stream", "label", "--cpu", "100000", "--in", "tcp://127.0.0.1:1", "--out", "tcp://127.0.0.1:0"]) == 1
    assert "--cpu 100000: this process may run on cores" in capsys.readouterr().err
