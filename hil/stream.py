"""ZMQ streaming of frames and live labels.

Wire format: multipart ``[topic, header JSON, payload]``. The header carries
``schema``, ``kind`` ("frame" | "end" | "label" | "final"), ``process``,
``seq``, ``time`` (s, sample time), ``sent`` (wall clock of publication, for
latency), and for payloads ``dtype`` and ``shape``.

Routing: a frame's topic is its process's shard (:func:`shard_of`: round robin over an id's counter);
labeller *i* of *n* subscribes to the shards ≡ i (mod n), so every frame of a
process reaches the same labeller and its recurrent state (plain PUSH
round-robin was measured to split processes across labellers).

No silent loss: the publisher is an XPUB that waits until every shard has a
subscriber before it sends (PUB/SUB drops what is sent before a subscriber
joins), and with XPUB_NODROP a full queue is back-pressure, counted, never a
quiet drop. The labeller detects sequence gaps per process, counts and drops
malformed messages without stopping, and closes a process that stops
sending after a timeout. Endpoints bind to loopback unless told otherwise.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import numpy as np
import zmq

from hil.errors import HilError

SCHEMA = 1
SHARDS = 240  # divisible by 2, 3, 4, 5, 6, 8, 10, 12, …: n labellers get equal shares of shards
_ITEMSIZE = {name: np.dtype(name).itemsize for name in ("float32", "float64", "uint8", "uint16", "int16")}
_MORE = int(zmq.SNDMORE)  # plain ints: pyzmq's flag enums cost ~2 µs per ``|`` on the per-frame path
_NOBLOCK_MORE = int(zmq.NOBLOCK | zmq.SNDMORE)
_NOBLOCK = int(zmq.NOBLOCK)
ERRORS_KEPT = 1000
_yield_cpu = getattr(os, "sched_yield", lambda: None)  # not on Windows


_COUNTER = re.compile(r"^(.*?)(\d{1,18})$", re.S)


def shard_of(process: str) -> int:
    """The shard of a process id; labeller i of n takes the shards ≡ i (mod n).

    An id ending in a counter (``run-0``, ``run-1``, … as ``hil stream publish``
    and most cameras number them) goes round robin: consecutive processes land
    on consecutive labellers, so 3 processes over 2 labellers are split 2 + 1
    and 100 over 4 are 25 each. Other ids go by a well-mixed hash. (CRC-32 of the
    whole id, used before, is linear: consecutive ids came in blocks of 4 on
    one labeller and a second labeller idled.)
    """
    text = str(process)
    m = _COUNTER.match(text)
    prefix, counter = (m.group(1), int(m.group(2))) if m else (text, 0)
    digest = int.from_bytes(hashlib.blake2b(prefix.encode(), digest_size=8).digest(), "little")
    return (digest + counter) % SHARDS


def topic_of(shard: int) -> bytes:
    return b"s%03d" % shard  # fixed width: a SUB prefix "s1" must not also match "s10"


def check_loopback(endpoint: str, allow_remote: bool) -> None:
    """Refuse to bind beyond loopback unless explicitly allowed."""
    if endpoint.startswith("tcp://") and not allow_remote:
        host = endpoint[6:].rsplit(":", 1)[0]
        if host not in ("127.0.0.1", "localhost", "[::1]"):
            raise HilError(f"refusing to bind {endpoint}: not loopback (pass allow_remote=True / --allow-remote)")


def encode_frame(process: str, seq: int, t: float, frame: np.ndarray) -> list[bytes]:
    frame = np.ascontiguousarray(frame)
    header = {"schema": SCHEMA, "kind": "frame", "process": str(process), "seq": int(seq), "time": float(t),
              "sent": time.time(), "dtype": str(frame.dtype), "shape": list(frame.shape)}
    return [topic_of(shard_of(process)), json.dumps(header).encode(), frame.tobytes()]


def encode_end(process: str, seq: int) -> list[bytes]:
    header = {"schema": SCHEMA, "kind": "end", "process": str(process), "seq": int(seq), "sent": time.time()}
    return [topic_of(shard_of(process)), json.dumps(header).encode(), b""]


#: Longest header accepted, bytes: a real one is ~200 B; the bound keeps a crafted one from costing memory or stack.
MAX_HEADER = 4096
#: Largest sequence number accepted (exact in a JSON double).
MAX_SEQ = 2 ** 53
MAX_PROCESS_ID = 256
KINDS_IN = ("frame", "end")
KINDS_OUT = ("label", "final")  # what a labeller publishes (a frame payload optional)


def _no_constant(name: str) -> None:
    raise ValueError(f"non-finite number {name} in header")


def _is_int(v: Any) -> bool:
    return type(v) is int  # bool is an int subclass: True is not a sequence number


def _is_number(v: Any) -> bool:
    return (type(v) is int or type(v) is float) and math.isfinite(v)


def decode(parts: list[bytes], kinds: tuple[str, ...] = KINDS_IN) -> tuple[dict[str, Any], np.ndarray | None]:
    """Parse and validate one message of ``kinds`` (inbound: a frame or an end; a labeller's output:
    ``KINDS_OUT``, a label or a final, with a frame payload only if it carries one); raise ValueError saying why
    it is malformed.

    Every field is checked here, once, so the labeller only ever sees
    canonical headers: ``schema`` 1; ``kind`` "frame" or "end"; ``process`` a
    non-empty string ≤ 256 characters; ``seq`` an integer 0…2⁵³ (not a bool,
    a float, a string, null, NaN or 1e400); ``time``/``sent``, where present,
    finite numbers or null; a frame's ``dtype``/``shape`` and payload length
    consistent; an end's payload empty. The header is at most
    :data:`MAX_HEADER` bytes and any parse failure (including nesting deep
    enough to exhaust the parser's recursion) is a ValueError.
    """
    if not isinstance(parts, (list, tuple)) or len(parts) != 3:
        raise ValueError(f"expected 3 parts, got {len(parts) if isinstance(parts, (list, tuple)) else type(parts).__name__}")
    raw = parts[1]
    if len(raw) > MAX_HEADER:
        raise ValueError(f"header of {len(raw)} bytes, longer than {MAX_HEADER}")
    try:
        header = json.loads(raw, parse_constant=_no_constant)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"header is not JSON: {exc}") from None
    except RecursionError:
        raise ValueError("header nests too deeply") from None
    except ValueError as exc:
        raise ValueError(str(exc)) from None
    if not isinstance(header, dict):
        raise ValueError(f"header is a JSON {type(header).__name__}, not an object")
    schema = header.get("schema")
    if not _is_int(schema) or schema != SCHEMA:
        raise ValueError(f"unknown schema {schema!r:.40}")
    for key in ("kind", "process", "seq"):
        if key not in header:
            raise ValueError(f"header lacks {key!r}")
    kind, process, seq = header["kind"], header["process"], header["seq"]
    if kind not in kinds:
        raise ValueError(f"kind {kind!r:.40} is not one of {', '.join(kinds)}")
    if type(process) is not str or not 0 < len(process) <= MAX_PROCESS_ID:
        raise ValueError(f"process must be a string of 1–{MAX_PROCESS_ID} characters, got {process!r:.40}")
    if not _is_int(seq) or not 0 <= seq <= MAX_SEQ:
        raise ValueError(f"seq must be an integer 0…2**53, got {seq!r:.40}")
    for key in ("time", "sent"):
        if header.get(key) is not None and not _is_number(header[key]):
            raise ValueError(f"{key} must be a finite number, got {header[key]!r:.40}")
    if kind == "end":
        if len(parts[2]):
            raise ValueError(f"an end carries no payload, this one has {len(parts[2])} bytes")
        return header, None
    if kind in KINDS_OUT and not len(parts[2]):
        return header, None
    dtype, shape = header.get("dtype"), header.get("shape")
    if type(dtype) is not str or dtype not in _ITEMSIZE or type(shape) is not list or not 1 <= len(shape) <= 3 \
            or not all(_is_int(s) and 0 < s <= 1 << 20 for s in shape):
        raise ValueError(f"bad dtype/shape {dtype!r:.40} {shape!r:.60}")
    expected = math.prod(shape) * _ITEMSIZE[dtype]
    if len(parts[2]) != expected:
        raise ValueError(f"payload is {len(parts[2])} bytes, header says {expected}")
    frame = np.frombuffer(parts[2], dtype=dtype).reshape(shape)
    return header, frame


class FramePublisher:
    """Publishes frames on an XPUB socket; waits for subscribers on every shard."""

    def __init__(self, endpoint: str = "tcp://127.0.0.1:5555", hwm: int = 10_000, allow_remote: bool = False,
                 context: zmq.Context | None = None):
        check_loopback(endpoint, allow_remote)
        self.ctx = context or zmq.Context.instance()
        self.sock = self.ctx.socket(zmq.XPUB)
        self.sock.setsockopt(zmq.XPUB_VERBOSE, 1)
        self.sock.setsockopt(zmq.XPUB_NODROP, 1)
        self.sock.setsockopt(zmq.SNDHWM, hwm)
        self.sock.setsockopt(zmq.LINGER, 1000)
        self.sock.bind(endpoint)
        self.endpoint = self.sock.getsockopt_string(zmq.LAST_ENDPOINT)
        self.covered: set[bytes] = set()
        self.sent = 0
        self.backpressure = 0  # sends that found the queue full and had to wait

    def wait_for_subscribers(self, timeout: float = 10.0) -> None:
        """Block until every shard topic has a subscriber (the late-joiner handshake)."""
        needed = {topic_of(s) for s in range(SHARDS)}
        deadline = time.monotonic() + timeout
        while not needed <= self.covered:
            left = deadline - time.monotonic()
            if left <= 0 or not self.sock.poll(int(left * 1000)):
                missing = sorted(t.decode() for t in needed - self.covered)
                raise HilError(f"no labeller subscribed to shards {', '.join(missing)} within {timeout:g} s")
            msg = self.sock.recv()
            if msg[:1] == b"\x01":
                self.covered.add(msg[1:])

    def _send(self, parts: list[bytes]) -> None:
        topic, header, payload = parts
        try:
            self.sock.send(topic, _NOBLOCK_MORE)  # a message's parts go out together or not at all
        except zmq.Again:
            self.backpressure += 1
            self.sock.send(topic, _MORE)  # wait: NODROP turns overflow into back-pressure
        self.sock.send(header, _MORE)
        self.sock.send(payload, copy=len(payload) < 65536)
        self.sent += 1

    def publish(self, process: str, seq: int, t: float, frame: np.ndarray) -> None:
        self._send(encode_frame(process, seq, t, frame))

    def end(self, process: str, seq: int) -> None:
        self._send(encode_end(process, seq))

    def close(self) -> None:
        self.sock.close()


#: Missing sequence numbers remembered per process, so a late frame is told from a duplicate.
MISSING_KEPT = 1024
#: Finished processes remembered, so a repeated end is dropped rather than opening an empty process.
ENDED_KEPT = 10_000


@dataclass
class ProcessState:
    h: np.ndarray
    next_seq: int = 0
    frames: int = 0
    gaps: int = 0  # frames never seen (a late arrival takes its frame back out)
    duplicates: int = 0  # a sequence number seen before: not stepped
    out_of_order: int = 0  # a frame that came after a later one: not stepped (the state has moved on)
    missing: set[int] = field(default_factory=set)
    last_seen: float = field(default_factory=time.monotonic)
    probs: np.ndarray | None = None


@dataclass
class LabellerStats:
    frames: int = 0
    malformed: int = 0
    gaps: int = 0
    duplicates: int = 0
    out_of_order: int = 0
    processes_done: int = 0
    timed_out: int = 0


class Labeller:
    """Labels frames with an ONNX step model, one recurrent state per open process."""

    def __init__(self, session: Any, inbound: str, outbound: str, index: int = 0, count: int = 1,
                 process_timeout: float = 30.0, allow_remote: bool = False, context: zmq.Context | None = None,
                 on_label: Callable[[dict], None] | None = None, frame_every: int = 0):
        """``frame_every`` N > 0 attaches the frame itself to a process's 1st, (N+1)th, … label, so a viewer
        (``hil view``) can show the latest frame of each process without subscribing to the camera stream."""
        if not 0 <= index < count:
            raise HilError(f"labeller index {index} not in 0..{count - 1}")
        check_loopback(outbound, allow_remote)
        self.session = session
        self.ctx = context or zmq.Context.instance()
        self.sub = self.ctx.socket(zmq.SUB)
        self.sub.setsockopt(zmq.RCVHWM, 100_000)
        self.sub.connect(inbound)
        self.shards = [s for s in range(SHARDS) if s % count == index]
        for s in self.shards:
            self.sub.setsockopt(zmq.SUBSCRIBE, topic_of(s))
        self.pub = self.ctx.socket(zmq.PUB)
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
        self.ended: dict[str, None] = {}  # the latest finished processes (insertion-ordered, bounded)

    def _emit(self, kind: str, process: str, state: ProcessState, extra: dict,
              frame: np.ndarray | None = None) -> None:
        probs = state.probs if state.probs is not None else np.full(len(self.session.labels), np.nan)
        header = {"schema": SCHEMA, "kind": kind, "process": process, "seq": state.next_seq - 1,
                  "frames": state.frames, "gaps": state.gaps, "duplicates": state.duplicates,
                  "out_of_order": state.out_of_order, "label": self.session.decide(probs),
                  "probs": [float(p) for p in probs], **extra}
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
        process.
        """
        pending = []
        for parts in messages:
            try:
                header, frame = decode(parts)
            except ValueError as exc:
                self.stats.malformed += 1
                self.errors.append(f"malformed message dropped: {exc}")
                continue
            pending.append((str(header["process"]), header, frame))
        while pending:
            wave, rest, seen = [], [], set()
            for item in pending:
                (rest if item[0] in seen else wave).append(item)
                seen.add(item[0])
            self._run_wave(wave)
            pending = rest

    def _run_wave(self, wave: list[tuple[str, dict, np.ndarray | None]]) -> None:
        ready = []
        for process, header, frame in wave:
            state = self.states.get(process)
            if state is None and header["kind"] == "end" and process in self.ended:
                self.stats.duplicates += 1
                self.errors.append(f"process {process}: end again after its final label; dropped")
                continue
            if state is None:
                state = self.states[process] = ProcessState(self.session.initial_state(1))
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
                del self.states[process]
                self.ended[process] = None
                if len(self.ended) > ENDED_KEPT:
                    del self.ended[next(iter(self.ended))]
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
        if len({f.shape for f in frames}) == 1 and frames[0].ndim == 2:
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
                self.errors.append(f"process {item[0]}: {exc}")
        return kept, (np.concatenate(rows) if rows else np.empty((0, self.session.input_size), np.float32))

    def close_stale(self) -> None:
        now = time.monotonic()
        for process in [p for p, s in self.states.items() if now - s.last_seen > self.timeout]:
            self._emit("final", process, self.states.pop(process), {"timed_out": True})
            self.stats.timed_out += 1

    def run(self, until: Callable[[], bool] | None = None, poll_ms: int = 100,
            max_batch: int = 64, spin_s: float = 0.0) -> LabellerStats:
        """Serve until ``until()`` is true (or forever), taking up to ``max_batch`` waiting messages at a time.

        ``spin_s`` > 0 busy-polls that long after the last message before blocking (see :class:`Receiver`).
        """
        rx = Receiver(self.sub, spin_s=spin_s, poll_ms=poll_ms, max_batch=max_batch)
        next_sweep = 0.0
        while until is None or not until():
            batch = rx.take()
            if batch:
                self.handle_batch(batch)
            now = time.monotonic()
            if now >= next_sweep:  # the timeout is seconds: a sweep every 0.1 s is plenty
                self.close_stale()
                next_sweep = now + 0.1
        return self.stats

    def close(self) -> None:
        self.sub.close()
        self.pub.close()


class Receiver:
    """Takes what waits on a socket: busy-polls for ``spin_s`` after the last message, then blocks in poll.

    Blocking costs a thread wake-up per message (~0.1 ms on these VMs) and
    lets the caches go cold between frames (the reference model's 20 MB of
    weights come back from DRAM: 0.57 → 1.2 ms per step at 200 frames/s).
    Spinning trades one core for that latency; ``spin_s = 0`` never spins.
    """

    def __init__(self, sock: zmq.Socket, spin_s: float = 0.0, poll_ms: int = 100, max_batch: int = 64):
        self.sock, self.spin_s, self.poll_ms, self.max_batch = sock, spin_s, poll_ms, max_batch
        self.last = time.perf_counter()

    def _drain(self) -> list[list[bytes]]:
        batch: list[list[bytes]] = []
        while len(batch) < self.max_batch:
            try:
                batch.append(self.sock.recv_multipart(flags=zmq.NOBLOCK))
            except zmq.Again:
                break
        return batch

    def take(self) -> list[list[bytes]]:
        """Up to ``max_batch`` messages; empty after ``poll_ms`` of silence (so callers can check for stop)."""
        batch = self._drain()
        now = time.perf_counter()
        if batch:
            self.last = now
        elif now - self.last < self.spin_s:
            _yield_cpu()  # the socket's I/O thread may be waiting for this very core
        elif self.sock.poll(self.poll_ms):
            batch = self._drain()
            self.last = time.perf_counter()
        return batch


class Pacer:
    """Paces frames at ``rate`` frames/s on one schedule for a whole stream, by sleeping, never spinning.

    One schedule across processes: a sleep that overshoots (~0.1 ms) is made
    up by the next frames, so the mean rate is exact. Spinning the last
    millisecond, as this once did, held a whole core at 7 000 frames/s,
    taken from the labellers on a 2-core machine.
    """

    def __init__(self, rate: float):
        if not rate > 0:
            raise HilError(f"rate must be > 0 frames/s, got {rate}")
        self.interval = 1.0 / rate
        self.next_at: float | None = None

    def wait(self) -> None:
        now = time.perf_counter()
        if self.next_at is None:
            self.next_at = now
        elif self.next_at > now:
            time.sleep(self.next_at - now)
        self.next_at += self.interval


class LabelTally:
    """Counts labels per process and the ones that never arrived (a jump in a process's label ``seq``).

    A labeller's PUB drops labels silently when a slow watcher's queue is
    full, and a frame the labeller refused has no label: both show here.
    """

    def __init__(self) -> None:
        self.labels = self.finals = self.missing = 0
        self._last: dict[str, int] = {}

    def __call__(self, header: dict) -> None:
        process = str(header.get("process"))
        if header.get("kind") == "label":
            seq = int(header.get("seq", 0))
            self.labels += 1
            self.missing += max(seq - self._last.get(process, -1) - 1, 0)
            self._last[process] = seq
        else:
            self.finals += 1
            self._last.pop(process, None)


class LabelLog:
    """Appends each process's labels to a store run when its final label arrives (the ``watch`` sink).

    One record per process: the final label and probabilities, the per-frame
    probabilities seen live, the gap count and whether it timed out.
    """

    def __init__(self, run: Any):
        self.run = run
        self.live: dict[str, list[list[float]]] = {}
        self.written = 0

    def __call__(self, header: dict) -> None:
        process = str(header.get("process"))
        if header.get("kind") == "label":
            self.live.setdefault(process, []).append(list(header.get("probs", [])))
            return
        seen = self.live.pop(process, [])
        self.run.write_record(self.written, {
            "process": process, "label": str(header.get("label")), "probs": np.asarray(header.get("probs", [])),
            "frame_probs": np.asarray(seen, dtype=np.float32).reshape(len(seen), -1),
            "frames": int(header.get("frames", 0)), "gaps": int(header.get("gaps", 0)),
            "timed_out": bool(header.get("timed_out", False))})
        self.written += 1


def publish_process(publisher: FramePublisher, process: str, frames: Iterable[tuple[float, np.ndarray]],
                    rate: float | Pacer | None = None) -> int:
    """Publish one process frame by frame as ``frames`` yields (t s, S_z), then its end; return the frame count.

    ``rate`` paces a recorded process like a live camera: frames/s, or a :class:`Pacer` shared by
    the processes of a stream; None sends as fast as frames come.
    """
    pacer = Pacer(rate) if isinstance(rate, (int, float)) and rate else rate or None
    seq = 0
    for t, frame in frames:
        if pacer is not None:
            pacer.wait()
        publisher.publish(process, seq, t, frame)
        seq += 1
    publisher.end(process, seq)
    return seq


def watch(endpoints: str | Iterable[str], handle: Callable[[dict], None], until: Callable[[], bool] | None = None,
          context: zmq.Context | None = None, kinds: Iterable[bytes] = (b"label", b"final"),
          ready: Callable[[], None] | None = None, spin_s: float = 0.0) -> None:
    """Subscribe to one or more labellers' outputs and hand each label header to ``handle``.

    ``ready`` is called once the subscriptions are set, so a caller can start the producers only then;
    ``spin_s`` busy-polls that long after each label before blocking (see :class:`Receiver`).
    """
    ctx = context or zmq.Context.instance()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.RCVHWM, 100_000)
    for endpoint in [endpoints] if isinstance(endpoints, str) else endpoints:
        sub.connect(endpoint)
    for k in kinds:
        sub.setsockopt(zmq.SUBSCRIBE, k)
    if ready is not None:
        ready()
    rx = Receiver(sub, spin_s=spin_s, max_batch=1000)
    try:
        while until is None or not until():
            for _, header, _ in rx.take():
                handle(json.loads(header))
    finally:
        sub.close()
