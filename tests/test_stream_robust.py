"""A labeller no message can kill (issue 15): every crafted message is counted and dropped, the stream goes on.

One test per malformed kind (through :func:`hil.stream.decode` and through a
live :class:`hil.stream.Labeller`), duplicated and out-of-order frames counted
as such and never stepped, and a model whose graph disagrees with its
metadata refused when it is opened.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import zmq

from hil.errors import HilError
from hil.models.classifier_onnx import StepSession
from hil.onnx_io import write_metadata
from hil.stream import MAX_HEADER, Labeller, decode, encode_end, encode_frame
from tests.stream_helpers import model_path_fixture  # noqa: F401 (the fixture model_path)

FRAME = np.zeros((12, 12), np.float32)


@pytest.fixture
def labeller(model_path):
    ctx = zmq.Context()
    out: list[dict] = []
    lb = Labeller(StepSession(model_path), "tcp://127.0.0.1:1", "tcp://127.0.0.1:0", context=ctx,
                  on_label=out.append)
    lb.out = out
    yield lb
    lb.close()
    ctx.term()


def _frame_with(**changes) -> list[bytes]:
    topic, header, payload = encode_frame("p", 0, 0.0, FRAME)
    h = json.loads(header)
    h.update(changes)
    return [topic, json.dumps(h).encode(), payload]


def _end_with(**changes) -> list[bytes]:
    topic, header, payload = encode_end("p", 1)
    h = json.loads(header)
    h.update(changes)
    return [topic, json.dumps(h).encode(), payload]


def _raw(header: bytes, payload: bytes = b"") -> list[bytes]:
    return [b"s00", header, payload]


def _nested(depth: int) -> bytes:
    return b'{"schema": 1, "kind": "frame", "process": "p", "seq": 0, "x": ' + b"[" * depth + b"]" * depth + b"}"


CRAFTED = {
    "seq is a string": (_frame_with(seq="3"), "seq must be an integer"),
    "seq is null": (_frame_with(seq=None), "seq must be an integer"),
    "seq is 1e400": (_raw(encode_frame("p", 0, 0.0, FRAME)[1].replace(b'"seq": 0', b'"seq": 1e400'),
                          FRAME.tobytes()), "seq must be an integer"),
    "seq is NaN": (_raw(encode_frame("p", 0, 0.0, FRAME)[1].replace(b'"seq": 0', b'"seq": NaN'), FRAME.tobytes()),
                   "non-finite number NaN"),
    "seq is a float": (_frame_with(seq=1.0), "seq must be an integer"),
    "seq is a bool": (_frame_with(seq=True), "seq must be an integer"),
    "seq is negative": (_frame_with(seq=-1), "seq must be an integer"),
    "seq beyond 2**53": (_frame_with(seq=2 ** 60), "seq must be an integer"),
    "unknown kind": (_frame_with(kind="label"), "kind 'label' is not one of"),
    "kind is a list": (_frame_with(kind=["frame"]), "is not one of"),
    "deeply nested header": (_raw(_nested(1500)), "nests too deeply|longer than"),
    "nested within the size bound": (_raw(_nested(2000)[:MAX_HEADER]), "not JSON|nests too deeply"),
    "header too long": (_raw(b'{"schema": 1, "pad": "' + b"x" * MAX_HEADER + b'"}'), "longer than"),
    "end with a string seq": (_end_with(seq="1"), "seq must be an integer"),
    "end with a payload": ([*encode_end("p", 1)[:2], b"xx"], "carries no payload"),
    "process is a number": (_frame_with(process=7), "process must be a string"),
    "process is empty": (_frame_with(process=""), "process must be a string"),
    "schema true": (_frame_with(schema=True), "unknown schema"),
    "header is a list": (_raw(b"[1, 2]"), "not an object"),
    "header is not UTF-8": (_raw(b"\xff\xfe{"), "not JSON"),
    "time is Infinity": (_raw(encode_frame("p", 0, 0.0, FRAME)[1].replace(b'"time": 0.0', b'"time": Infinity'),
                              FRAME.tobytes()), "non-finite"),
    "time is a string": (_frame_with(time="now"), "time must be a finite number"),
    "shape of negative size": (_frame_with(shape=[-12, -12]), "bad dtype/shape"),
    "shape of rank 5": (_frame_with(shape=[1, 1, 1, 12, 12]), "bad dtype/shape"),
    "dtype object": (_frame_with(dtype="object"), "bad dtype/shape"),
    "payload short": (_frame_with(shape=[13, 12]), "payload is"),
    "two parts": (encode_end("p", 1)[:2], "3 parts"),
}


@pytest.mark.parametrize("name", list(CRAFTED))
def test_decode_names_what_is_wrong(name):
    parts, why = CRAFTED[name]
    with pytest.raises(ValueError, match=why):
        decode(parts)


@pytest.mark.parametrize("name", list(CRAFTED))
def test_a_crafted_message_is_counted_and_the_labeller_goes_on(labeller, name):
    parts, _ = CRAFTED[name]
    labeller.handle(encode_frame("q", 0, 0.0, FRAME))
    labeller.handle(parts)
    labeller.handle(encode_frame("q", 1, 0.0, FRAME))
    labeller.handle(encode_end("q", 2))
    assert labeller.stats.malformed == 1, list(labeller.errors)
    assert labeller.stats.frames == 2 and labeller.stats.processes_done == 1 and labeller.stats.gaps == 0
    assert "malformed message dropped" in labeller.errors[-1] if labeller.errors else False


def test_every_crafted_message_in_one_batch(labeller):
    """All of them interleaved with a real process, as one batch: the process is labelled as if alone."""
    messages = [encode_frame("q", 0, 0.0, FRAME)]
    messages += [parts for parts, _ in CRAFTED.values()]
    messages += [encode_frame("q", 1, 0.0, FRAME), encode_end("q", 2)]
    labeller.handle_batch(messages)
    assert labeller.stats.malformed == len(CRAFTED)
    assert [h["kind"] for h in labeller.out] == ["label", "label", "final"]


def test_duplicate_and_out_of_order_frames_are_counted_not_stepped(labeller, model_path):
    session = StepSession(model_path)
    rng = np.random.default_rng(0)
    frames = rng.uniform(-1, 1, (4, 12, 12)).astype(np.float32)
    for seq in (0, 1, 1, 3, 2):  # a duplicate of 1; 2 arrives after 3
        labeller.handle(encode_frame("q", seq, 0.0, frames[seq]))
    labeller.handle(encode_end("q", 4))
    labeller.handle(encode_end("q", 4))  # the end again: dropped, no second final
    st = labeller.stats
    assert (st.frames, st.duplicates, st.out_of_order, st.gaps) == (3, 2, 1, 0)
    finals = [h for h in labeller.out if h["kind"] == "final"]
    assert len(finals) == 1 and (finals[0]["duplicates"], finals[0]["out_of_order"], finals[0]["gaps"]) == (1, 1, 0)
    # the state saw frames 0, 1, 3 only, once each
    want = session.run_sequence(frames[[0, 1, 3]])[-1]
    np.testing.assert_allclose(finals[0]["probs"], want, atol=1e-6)


def test_a_gap_that_stays_a_gap(labeller):
    for seq in (0, 3):
        labeller.handle(encode_frame("q", seq, 0.0, FRAME))
    labeller.handle(encode_end("q", 4))
    assert (labeller.stats.gaps, labeller.stats.out_of_order, labeller.stats.duplicates) == (2, 0, 0)


@pytest.mark.parametrize("key, value, why", [
    ("input_size", 31, "input has 32 features, metadata says 31"),
    ("hidden", 15, "metadata says 15"),
    ("labels", ["breathing", "switching"], "output has 3 features, metadata says 2"),
    ("hidden", "many", "wrong type"),
])
def test_a_model_whose_graph_disagrees_with_its_metadata_is_refused_at_load(model_path, tmp_path, key, value, why):
    import onnx

    bad = tmp_path / "bad.onnx"
    proto = onnx.load(str(model_path))
    meta = {e.key: json.loads(e.value) for e in proto.metadata_props}
    onnx.save(proto, str(bad))
    write_metadata(bad, {**meta, key: value})
    with pytest.raises(HilError, match=why):
        StepSession(bad)


def test_a_model_with_other_input_names_is_refused(tmp_path):
    """A graph exported with other names (not a step model of ours) fails at load, naming them."""
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 32])
    h = helper.make_tensor_value_info("h", TensorProto.FLOAT, ["batch", 16])
    y = helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", 32])
    hn = helper.make_tensor_value_info("h_next", TensorProto.FLOAT, ["batch", 16])
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["output"]),
                               helper.make_node("Identity", ["h"], ["h_next"])], "g", [x, h], [y, hn])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path / "other.onnx"
    onnx.save(model, str(path))
    write_metadata(path, {"labels": ["a", "b", "c"], "threshold": 0.8, "preprocessing": "quantiles",
                          "input_size": 32, "hidden": 16, "version": "t"})
    with pytest.raises(HilError, match=r"inputs are \['h', 'x'\]"):
        StepSession(path)


def test_labels_carry_every_nth_frame_for_a_viewer():
    """``frame_every``: the 1st, (N+1)th, … label of a process carries its frame, decodable as a label message."""
    import json as _json

    import zmq as _zmq

    from hil.stream import KINDS_OUT, Labeller, decode, encode_frame

    class Session:  # the labeller's view of a step model: labels, decisions, steps
        labels, threshold, hidden = ["a", "b"], 0.5, 2

        def initial_state(self, n):
            return np.zeros((n, 2), np.float32)

        def prepare(self, frames):
            return frames.reshape(len(frames), -1)

        def step(self, x, h):
            return np.tile([0.9, 0.1], (len(x), 1)), h

        def decide(self, p):
            return "a"

    ctx = _zmq.Context()
    got = []
    lab = Labeller(Session(), "tcp://127.0.0.1:1", "tcp://127.0.0.1:0", context=ctx, frame_every=2,
                   on_label=got.append)
    sub = ctx.socket(_zmq.SUB)
    sub.connect(lab.out_endpoint)
    sub.setsockopt(_zmq.SUBSCRIBE, b"")
    import time as _time

    _time.sleep(0.2)
    frames = [np.full((3, 3), k, np.float32) for k in range(4)]
    for k, f in enumerate(frames):
        lab.handle(encode_frame("p-0", k, k * 1e-12, f))
    carried = []
    for _ in range(4):
        parts = sub.recv_multipart()
        header, frame = decode(parts, KINDS_OUT)
        carried.append(None if frame is None else float(frame[0, 0]))
    lab.close()
    sub.close()
    ctx.term()
    assert carried == [0.0, None, 2.0, None]
    assert len(got) == 4 and _json.dumps(got[0])
    with pytest.raises(HilError):
        Labeller(Session(), "tcp://127.0.0.1:1", "tcp://127.0.0.1:0", frame_every=-1)
