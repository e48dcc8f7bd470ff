"""The labeller: :class:`Labeller` steps an ONNX model over the frames of its shards, one recurrent state per
open process (:class:`ProcessState`), and publishes a label per frame and a final per process.

The labeller detects sequence gaps per process, counts and drops
malformed messages without stopping, and closes a process that stops
sending after a timeout. It takes part in both loops of the accounting (issue 15): it acknowledges what it
labelled up to the publisher (:mod:`hil.stream_publisher`), and answers the stream's summary with a report
for the watchers (:mod:`hil.stream_watch`).
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import zmq

from hil.errors import HilError
from hil.stream_receiver import SPIN_BACKOFF_S, Receiver
from hil.stream_wire import (_MORE, _NOBLOCK, ACK, ACK_ENTRIES, ERRORS_KEPT, HELLO, MAX_UPSTREAM, SCHEMA, SHARDS,
                             SUMMARY_TOPIC, _chunks, check_loopback, decode, shard_of, topic_of)

#: A labeller says it is alive this often (s), with an empty acknowledgement.
HEARTBEAT_S = 0.5
#: A labeller acknowledges what it labelled at most this often (s). 0: after every batch, right after its
#: labels, so a labeller killed mid-stream leaves an exact count of unlabelled frames (the cost: one small
#: message up per batch, a few µs; a batch holds every frame waiting, so fewer messages the busier it is). With
#: T > 0 a kill may count up to T's worth of labelled frames as unlabelled.
ACK_EVERY_S = 0.0


#: Missing sequence numbers remembered per process, so a late frame is told from a duplicate.
MISSING_KEPT = 1024
#: Finished processes remembered (with their counts, for the stream's report), so a repeated end is dropped
#: rather than opening an empty process.
ENDED_KEPT = 100_000
#: Parts of the latest stream's report a labeller keeps, to send again to a watcher that joins late.
REPORT_PARTS_KEPT = 64


@dataclass
class ProcessState:
    h: np.ndarray
    next_seq: int = 0
    frames: int = 0
    gaps: int = 0  # frames never seen (a late arrival takes its frame back out)
    duplicates: int = 0  # a sequence number seen before: not stepped
    out_of_order: int = 0  # a frame that came after a later one: not stepped (the state has moved on)
    refused: int = 0  # a frame the model could not take (not finite, wrong rank): not stepped
    missing: set[int] = field(default_factory=set)
    last_seen: float = field(default_factory=time.monotonic)
    probs: np.ndarray | None = None
    stream: str | None = None


@dataclass(frozen=True)
class ProcessRecord:
    """What a labeller keeps of a finished process: enough to report it in its stream's report."""

    stream: str | None
    frames: int
    gaps: int
    duplicates: int
    out_of_order: int
    refused: int
    timed_out: bool = False


@dataclass
class LabellerStats:
    frames: int = 0
    malformed: int = 0
    gaps: int = 0
    duplicates: int = 0
    out_of_order: int = 0
    processes_done: int = 0
    timed_out: int = 0
    reports: int = 0  # report parts published (one per summary part received)
    spin_backoffs: int = 0  # times the busy-polling receiver found the machine busy and slept instead


class Labeller:
    """Labels frames with an ONNX step model, one recurrent state per open process."""

    def __init__(self, session: Any, inbound: str, outbound: str, index: int = 0, count: int = 1,
                 process_timeout: float = 30.0, allow_remote: bool = False, context: zmq.Context | None = None,
                 on_label: Callable[[dict], None] | None = None, frame_every: int = 0):
        """``frame_every`` N > 0 attaches the frame itself to a process's 1st, (N+1)th, … label, so a viewer
        (``hil view``) can show the latest frame of each process without subscribing to the camera stream."""
        if not 0 <= index < count:
            raise HilError(f"labeller index {index} not in 0..{count - 1}")
        if count > SHARDS:
            raise HilError(f"at most {SHARDS} labellers share a stream, not {count}")
        check_loopback(outbound, allow_remote)
        self.session = session
        self.index, self.count = index, count
        self.id = f"{socket.gethostname()[:32]}:{os.getpid()}:{secrets.token_hex(3)}"
        self._id_json = json.dumps(self.id).encode()
        self.ctx = context or zmq.Context.instance()
        # An XSUB: it subscribes by message, and it can talk back to the publisher on the same connection.
        self.sub = self.ctx.socket(zmq.XSUB)
        self.sub.setsockopt(zmq.RCVHWM, 100_000)
        self.sub.setsockopt(zmq.LINGER, 0)
        self.sub.connect(inbound)
        identity = json.dumps({"id": self.id, "index": index, "count": count}).encode()
        self.sub.send(b"\x01" + HELLO + identity)  # first: the publisher knows who serves the shards below
        self.shards = [s for s in range(SHARDS) if s % count == index]
        self._shard_set = frozenset(self.shards)
        for s in self.shards:
            self.sub.send(b"\x01" + topic_of(s))
        self.sub.send(b"\x01" + SUMMARY_TOPIC)
        # An XPUB: like a PUB, plus it hears a watcher subscribe, and then sends it the latest report.
        self.pub = self.ctx.socket(zmq.XPUB)
        self.pub.setsockopt(zmq.XPUB_VERBOSE, 1)
        self.pub.setsockopt(zmq.SNDHWM, 100_000)
        self.pub.bind(outbound)
        self.out_endpoint = self.pub.getsockopt_string(zmq.LAST_ENDPOINT)
        self.timeout = process_timeout
        self.states: dict[str, ProcessState] = {}
        self.stats = LabellerStats()
        self.on_label = on_label
        if isinstance(frame_every, bool) or not isinstance(frame_every, int) or frame_every < 0:
            raise HilError(f"frame_every must be a whole number ≥ 0, got {frame_every!r}")
        self.frame_every = frame_every
        self.errors: deque[str] = deque(maxlen=ERRORS_KEPT)  # the latest problems, bounded for a long run
        self.ended: dict[str, ProcessRecord] = {}  # the latest finished processes (insertion-ordered, bounded)
        self._acks: dict[str, tuple[int, int]] = {}  # process → (frames labelled, done) since the last ack
        self._acked_at = 0.0
        self._report: tuple[str | None, dict[int, list[bytes]]] = (None, {})  # latest stream's report parts
        self._resend_at = 0.0

    def _emit(self, kind: str, process: str, state: ProcessState, extra: dict,
              frame: np.ndarray | None = None) -> None:
        probs = state.probs if state.probs is not None else np.full(len(self.session.labels), np.nan)
        header = {"schema": SCHEMA, "kind": kind, "process": process, "seq": state.next_seq - 1,
                  "frames": state.frames, "gaps": state.gaps, "duplicates": state.duplicates,
                  "out_of_order": state.out_of_order, "refused": state.refused, "label": self.session.decide(probs),
                  "probs": [float(p) for p in probs], **extra}
        if state.stream is not None:
            header["stream"] = state.stream
        if kind == "final" or state.frames <= 1:  # the column names, once per process and with its final
            header["classes"] = list(self.session.labels)
            header["threshold"] = float(self.session.threshold)
        payload = b""
        if frame is not None and self.frame_every and (state.frames - 1) % self.frame_every == 0:
            frame = np.ascontiguousarray(frame, dtype=np.float32)
            header["dtype"], header["shape"] = "float32", list(frame.shape)
            payload = frame.tobytes()
        pub = self.pub
        pub.send(kind.encode(), _MORE)
        pub.send(json.dumps(header).encode(), _MORE)
        pub.send(payload)
        if self.on_label:
            self.on_label(header)

    def handle(self, parts: list[bytes]) -> None:
        """Process one message; malformed ones are counted, reported and dropped."""
        self.handle_batch([parts])

    def handle_batch(self, messages: list[list[bytes]]) -> None:
        """Process messages in arrival order, stepping the frames of different processes as one batch.

        The step of a 10 000-input model is bound by reading its weights
        (20 MB), so one batched step for every process that has a frame
        waiting costs little more than a single one. Waves keep each
        process's own frames in order: a wave takes at most one message per
        process. A summary is answered once every message before it is done;
        the batch ends with one acknowledgement to the publisher.
        """
        pending: list = []
        for parts in messages:
            try:
                header, frame = decode(parts)
            except ValueError as exc:
                self.stats.malformed += 1
                self.errors.append(f"malformed message dropped: {exc}")
                continue
            if header["kind"] == "summary":
                self._waves(pending)
                pending = []
                self._answer_summary(header)
            else:
                pending.append((str(header["process"]), header, frame))
        self._waves(pending)
        if self._acks and time.perf_counter() - self._acked_at >= ACK_EVERY_S:
            self._acknowledge()

    def _waves(self, pending: list) -> None:
        while pending:
            wave, rest, seen = [], [], set()
            for item in pending:
                (rest if item[0] in seen else wave).append(item)
                seen.add(item[0])
            self._run_wave(wave)
            pending = rest

    def _close(self, process: str, state: ProcessState, timed_out: bool = False) -> None:
        """Forget an open process, keeping its counts for the stream's report."""
        self.states.pop(process, None)
        self.ended.pop(process, None)  # re-insert: the newest last, so the oldest are dropped first
        self.ended[process] = ProcessRecord(state.stream, state.frames, state.gaps, state.duplicates,
                                            state.out_of_order, state.refused, timed_out)
        if len(self.ended) > ENDED_KEPT:
            del self.ended[next(iter(self.ended))]
        self._acks[process] = (state.frames, 1)

    def _run_wave(self, wave: list[tuple[str, dict, np.ndarray | None]]) -> None:
        ready = []
        for process, header, frame in wave:
            state = self.states.get(process)
            stream = header.get("stream")
            if state is None and header["kind"] == "end" and process in self.ended \
                    and self.ended[process].stream == stream:
                self.stats.duplicates += 1
                self.errors.append(f"process {process}: end again after its final label; dropped")
                continue
            if state is not None and state.stream != stream:  # an id reused by a new stream: close the old one
                self._emit("final", process, state, {"timed_out": True})
                self._close(process, state, timed_out=True)
                self.stats.timed_out += 1
                state = None
            if state is None:
                state = self.states[process] = ProcessState(self.session.initial_state(1), stream=stream)
            state.last_seen = time.monotonic()
            seq = header["seq"]  # an int 0…2**53: decode() checked it
            if seq < state.next_seq and header["kind"] == "frame":
                self._late(process, state, seq)
                continue
            if seq > state.next_seq:
                missed = seq - state.next_seq
                state.gaps += missed
                self.stats.gaps += missed
                if len(state.missing) + missed <= MISSING_KEPT:
                    state.missing.update(range(state.next_seq, seq))
                self.errors.append(f"process {process}: expected frame {state.next_seq}, got {seq}")
            state.next_seq = seq + 1
            if header["kind"] == "end":
                self._emit("final", process, state, {"sent": header.get("sent")})
                self._close(process, state)
                self.stats.processes_done += 1
                continue
            ready.append((process, header, state, frame))
        ready, inputs = self._prepare(ready)
        if not ready:
            return
        probs, h = self.session.step(inputs, np.concatenate([r[2].h for r in ready]))
        for k, (process, header, state, frame) in enumerate(ready):
            state.h, state.probs = h[k:k + 1], probs[k]
            state.frames += 1
            self.stats.frames += 1
            self._emit("label", process, state, {"time": header.get("time"), "sent": header.get("sent")}, frame)
            self._acks[process] = (state.frames, 0)

    def _late(self, process: str, state: ProcessState, seq: int) -> None:
        """A frame behind the process's state: counted as out of order (it was a gap) or a duplicate; never stepped."""
        if seq in state.missing:
            state.missing.discard(seq)
            state.out_of_order += 1
            self.stats.out_of_order += 1
            state.gaps -= 1
            self.stats.gaps -= 1
            self.errors.append(f"process {process}: frame {seq} came after frame {state.next_seq - 1}; not stepped")
        else:
            state.duplicates += 1
            self.stats.duplicates += 1
            self.errors.append(f"process {process}: frame {seq} again; duplicate dropped")

    def _prepare(self, ready: list) -> tuple[list, np.ndarray]:
        """Profiles of a wave's frames in one call; a frame that cannot be prepared is dropped, not the wave."""
        frames = [r[3] for r in ready]
        if frames and len({f.shape for f in frames}) == 1 and frames[0].ndim == 2:
            try:
                return ready, self.session.prepare(np.stack(frames))
            except HilError:
                pass  # find the culprit frame by frame below
        kept, rows = [], []
        for item in ready:
            frame = item[3]
            try:
                if frame.ndim != 2 and not (frame.ndim == 3 and frame.shape[0] == 1):
                    raise HilError(f"frame refused: expected one (H, W) frame, got shape {frame.shape}")
                rows.append(self.session.prepare(frame.reshape(1, *frame.shape[-2:])))
                kept.append(item)
            except HilError as exc:
                self.stats.malformed += 1
                item[2].refused += 1
                self.errors.append(f"process {item[0]}: {exc}")
        return kept, (np.concatenate(rows) if rows else np.empty((0, self.session.input_size), np.float32))

    # -- accounting: acknowledgements up to the publisher, reports out to the watchers --------------
    def _acknowledge(self, heartbeat: bool = False) -> None:
        """Tell the publisher what was labelled since the last time (or, with nothing new, that we are alive)."""
        if not self._acks and not heartbeat:
            return
        self._acked_at = time.perf_counter()
        acks, self._acks = self._acks, {}
        body = b""
        if len(acks) <= ACK_ENTRIES:  # the usual case, once per batch: one message, formatted by hand (~1 µs)
            body = b'{"id": %s, "p": [%s]}' % (self._id_json, b", ".join(
                b"[%s, %d, %d]" % (json.dumps(p).encode(), n, d) for p, (n, d) in acks.items()))
        bodies = [body] if 0 < len(body) <= MAX_UPSTREAM - 1 else [
            json.dumps({"id": self.id, "p": chunk}).encode()
            for chunk in _chunks([[p, n, d] for p, (n, d) in acks.items()], ACK_ENTRIES, MAX_UPSTREAM - 256)]
        for body in bodies:
            try:  # no connection yet: dropped, and the next heartbeat says it again
                self.sub.send(ACK + body, _NOBLOCK)
            except zmq.ZMQError:
                break

    def _answer_summary(self, header: dict) -> None:
        """Publish this labeller's part of the stream's report: every process of the summary part, with the
        counts of those on its shards."""
        stream = header["stream"]
        rows = []
        for process, published in header["entries"]:
            if shard_of(process) not in self._shard_set:
                rows.append([process, published])
                continue
            rec = self.ended.get(process)
            state = self.states.get(process)
            src = rec if rec is not None and rec.stream == stream else \
                state if state is not None and state.stream == stream else None
            if src is None:
                rows.append([process, published, 0, 0, 0, 0, 0, 0])
                self._acks[process] = (0, 1)  # the publisher need not wait for it: it never came
                continue
            labelled, late, refused = src.frames, src.out_of_order, src.refused
            gaps = max(published - labelled - late - refused, 0)
            rows.append([process, published, 1, labelled, gaps, late, src.duplicates, refused])
            if src is state:
                self._acks[process] = (labelled, 1)  # its end never came: this is all there will be
        out = {"schema": SCHEMA, "kind": "report", "process": stream, "seq": header["seq"], "parts": header["parts"],
               "stream": stream, "labeller": self.id, "index": self.index, "count": self.count,
               "ended": time.time(), "resent": False, "sent": header.get("sent")}
        parts = [b"report", json.dumps(out).encode(), json.dumps(rows).encode()]
        kept_stream, kept = self._report
        if kept_stream != stream:
            kept = {}
            self._report = (stream, kept)
        if len(kept) < REPORT_PARTS_KEPT or header["seq"] in kept:
            kept[header["seq"]] = parts
        self.pub.send_multipart(parts)
        self.stats.reports += 1
        self._acknowledge()  # the publisher's last wait ends here

    def _serve_watchers(self, now: float) -> None:
        """A new watcher subscribed to reports: send it the latest stream's report again (at most every 0.5 s)."""
        asked = False
        for _ in range(10_000):  # bounded: a flood of subscriptions cannot hold the labeller here
            try:
                msg = self.pub.recv(_NOBLOCK)
            except zmq.Again:
                break
            asked |= msg == b"\x01report"
        stream, kept = self._report
        if asked and kept and now >= self._resend_at:
            self._resend_at = now + 0.5
            for parts in kept.values():
                header = json.loads(parts[1])
                header["resent"] = True
                self.pub.send_multipart([parts[0], json.dumps(header).encode(), parts[2]])

    def close_stale(self) -> None:
        now = time.monotonic()
        for process in [p for p, s in self.states.items() if now - s.last_seen > self.timeout]:
            state = self.states[process]
            self._emit("final", process, state, {"timed_out": True})
            self._close(process, state, timed_out=True)
            self.stats.timed_out += 1

    def run(self, until: Callable[[], bool] | None = None, poll_ms: int = 100,
            max_batch: int = 64, spin_s: float = 0.0, spin_backoff_s: float = SPIN_BACKOFF_S) -> LabellerStats:
        """Serve until ``until()`` is true (or forever), taking up to ``max_batch`` waiting messages at a time.

        ``spin_s`` > 0 busy-polls that long after the last message before blocking, giving way for
        ``spin_backoff_s`` when the machine is busy (see :class:`Receiver`).
        Every :data:`HEARTBEAT_S` the publisher hears that this labeller is alive.
        """
        idle_ms = min(poll_ms, int(HEARTBEAT_S * 1000))
        rx = self.receiver = Receiver(self.sub, spin_s=spin_s, poll_ms=idle_ms, max_batch=max_batch,
                                      backoff_s=spin_backoff_s)
        next_sweep = next_beat = 0.0
        try:
            while until is None or not until():
                batch = rx.take()
                if batch:
                    self.handle_batch(batch)
                    self.stats.spin_backoffs = rx.backoffs
                now = time.monotonic()
                if now >= next_beat:
                    self._acknowledge(heartbeat=True)
                    next_beat = now + HEARTBEAT_S
                if now >= next_sweep:  # the timeout is seconds: a sweep every 0.1 s is plenty
                    self.close_stale()
                    self._serve_watchers(now)
                    next_sweep = now + 0.1
                if self._acks and time.perf_counter() - self._acked_at >= ACK_EVERY_S:
                    self._acknowledge()
                rx.poll_ms = max(1, int(ACK_EVERY_S * 1000)) if self._acks else idle_ms  # an ack held back: wake for it
        finally:
            self._acknowledge()  # what was labelled before a stop, said
        return self.stats

    def close(self) -> None:
        self.sub.close()
        self.pub.close()
