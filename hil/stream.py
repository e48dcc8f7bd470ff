"""ZMQ streaming of frames and live labels.

Wire format: multipart ``[topic, header JSON, payload]``. The header carries
``schema``, ``kind``, ``process``, ``seq``, ``time`` (s, sample time), ``sent``
(wall clock of publication, for latency), ``stream`` (the publisher's id for
this stream) and for payloads ``dtype`` and ``shape``. Kinds: publisher →
labellers ``frame``, ``end`` (its ``seq`` is the process's frame count) and
``summary``; labeller → watchers ``label``, ``final`` and ``report``.

Routing: a frame's topic is its process's shard (:func:`shard_of`: round robin over an id's counter);
labeller *i* of *n* subscribes to the shards ≡ i (mod n), so every frame of a
process reaches the same labeller and its recurrent state (plain PUSH
round-robin was measured to split processes across labellers).

No silent loss: the publisher is an XPUB that waits until every shard has a
subscriber before it sends (PUB/SUB drops what is sent before a subscriber
joins), and with XPUB_NODROP a full queue is back-pressure, counted, never a
quiet drop (and bounded: a queue that stays full for the acknowledgement
timeout is an error, not a hang). The labeller detects sequence gaps per process, counts and drops
malformed messages without stopping, and closes a process that stops
sending after a timeout. Endpoints bind to loopback unless told otherwise.

Accounting (issue 15), in two loops that need no extra port:

* **Publisher ← labellers.** A labeller's inbound socket is an XSUB. Its first
  subscription is an identity topic, ``L{"id", "index", "count"}``, which the
  publisher's XPUB sees arrive (so it knows which labeller serves which shards)
  and sees *cancelled* the moment the labeller's connection drops (killed,
  crashed). Upstream on the same connection the labeller sends
  acknowledgements ``A{"id", "p": [[process, frames labelled, done], …]}`` after
  every batch it labels (:data:`ACK_EVERY_S`), and one with no entries every
  :data:`HEARTBEAT_S` as a heartbeat. The publisher counts, per process, frames published and frames
  acknowledged as labelled; :meth:`FramePublisher.finish` sends the stream's
  summary and waits (bounded by its timeout) for every process's last
  acknowledgement, a labeller that disconnected or stayed silent for the
  timeout being counted gone. What was published and never acknowledged is
  *unlabelled*, per labeller (:class:`Accounting`). Shards served only by
  subscribers that never said who they are (not ``hil stream label``) are
  reported as not accounted for, not as lost.
* **Publisher → labellers → watchers.** At the end of a stream the publisher
  sends a ``summary`` (topic ``all``, every labeller subscribes): every process
  of the stream with its frame count, in parts of at most :data:`SUMMARY_PART`.
  Each labeller answers with a ``report`` part on its output: every process with
  its published count and, for those on its shards, whether it ever reached the
  labeller and how many frames were labelled, gaps (never received), late
  (out of order: not stepped), duplicates (not stepped, not a loss) and refused
  (a frame that could not be prepared). The labeller's output is an XPUB that
  sends its latest report again when a new watcher subscribes (flagged
  ``resent``), so a watcher that joined late still learns how the stream
  ended. :class:`StreamAudit` (``hil stream watch``) counts the labels it was
  shown per process and, once every labeller it watches has reported (or after
  its timeout), prints per process: published, labelled, shown, lost — never
  received, gap, late, refused, dropped (labelled, but the label never reached
  this watcher: a PUB drops what a subscriber that has not joined yet would
  have got) — and a total; watch then exits non-zero when anything was lost.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import secrets
import socket
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


def encode_frame(process: str, seq: int, t: float, frame: np.ndarray, stream: str | None = None) -> list[bytes]:
    frame = np.ascontiguousarray(frame)
    header = {"schema": SCHEMA, "kind": "frame", "process": str(process), "seq": int(seq), "time": float(t),
              "sent": time.time(), "dtype": str(frame.dtype), "shape": list(frame.shape)}
    if stream is not None:
        header["stream"] = stream
    return [topic_of(shard_of(process)), json.dumps(header).encode(), frame.tobytes()]


def encode_end(process: str, seq: int, stream: str | None = None) -> list[bytes]:
    """A process's end; ``seq`` is its frame count (frames 0 … seq − 1 were published)."""
    header = {"schema": SCHEMA, "kind": "end", "process": str(process), "seq": int(seq), "sent": time.time()}
    if stream is not None:
        header["stream"] = stream
    return [topic_of(shard_of(process)), json.dumps(header).encode(), b""]


def encode_summary(stream: str, part: int, parts: int, entries: list[list]) -> list[bytes]:
    """Part ``part`` of ``parts`` of a stream's summary: ``[[process, frames published], …]`` (publisher → labellers)."""
    header = {"schema": SCHEMA, "kind": "summary", "process": stream, "seq": int(part), "parts": int(parts),
              "stream": stream, "sent": time.time()}
    return [SUMMARY_TOPIC, json.dumps(header).encode(), json.dumps(entries).encode()]


#: Longest header accepted, bytes: a real one is ~200 B; the bound keeps a crafted one from costing memory or stack.
MAX_HEADER = 4096
#: Largest sequence number accepted (exact in a JSON double).
MAX_SEQ = 2 ** 53
MAX_PROCESS_ID = 256
MAX_STREAM_ID = 64
KINDS_IN = ("frame", "end", "summary")  # what a publisher sends
KINDS_OUT = ("label", "final", "report")  # what a labeller publishes (a label's frame payload optional)
#: Topic of the publisher's end-of-stream summary; every labeller subscribes to it.
SUMMARY_TOPIC = b"all"
#: Processes per summary or report message, and the most parts one stream's summary may have.
SUMMARY_PART = 256
MAX_PARTS = 4096
#: Largest summary/report payload (JSON list), bytes: 256 entries of ≤ 256-character ids fit.
MAX_LIST_BYTES = 256 * 1024
#: A report entry, in order; a process on another labeller's shards has the first two only.
REPORT_FIELDS = ("process", "published", "received", "labelled", "gaps", "late", "duplicates", "refused")
#: Upstream (labeller → publisher, through XSUB → XPUB): the identity subscription's prefix and an ack's.
HELLO = b"L"
ACK = b"A"
MAX_UPSTREAM = 64 * 1024
ACK_ENTRIES = 128
#: A labeller says it is alive this often (s), with an empty acknowledgement.
HEARTBEAT_S = 0.5
#: A labeller acknowledges what it labelled at most this often (s). 0: after every batch, right after its
#: labels, so a labeller killed mid-stream leaves an exact count of unlabelled frames (the cost: one small
#: message up per batch, a few µs; a batch holds every frame waiting, so fewer messages the busier it is). With
#: T > 0 a kill may count up to T's worth of labelled frames as unlabelled.
ACK_EVERY_S = 0.0
#: A busy-poll turn that took longer than this (s) lost its core to another process: the machine is busy.
SPIN_PREEMPTED_S = 0.002
#: A receiver that lost its core while spinning sleeps between messages (as ``spin_s = 0``) this long (s).
SPIN_BACKOFF_S = 1.0


def _no_constant(name: str) -> None:
    raise ValueError(f"non-finite number {name} in header")


def _is_int(v: Any) -> bool:
    return type(v) is int  # bool is an int subclass: True is not a sequence number


def _is_number(v: Any) -> bool:
    return (type(v) is int or type(v) is float) and math.isfinite(v)


def _json(raw: bytes, what: str) -> Any:
    """``json.loads`` whose every failure (bad UTF-8, syntax, NaN/Infinity, nesting) is a ValueError naming ``what``."""
    try:
        return json.loads(raw, parse_constant=_no_constant)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{what} is not JSON: {exc}") from None
    except RecursionError:
        raise ValueError(f"{what} nests too deeply") from None
    except ValueError as exc:
        raise ValueError(str(exc)) from None


def _is_id(v: Any, longest: int) -> bool:
    return type(v) is str and 0 < len(v) <= longest


def _is_count(v: Any) -> bool:
    return _is_int(v) and 0 <= v <= MAX_SEQ


def decode(parts: list[bytes], kinds: tuple[str, ...] = KINDS_IN) -> tuple[dict[str, Any], np.ndarray | None]:
    """Parse and validate one message of ``kinds`` (inbound, ``KINDS_IN``: a frame, an end or a summary; a
    labeller's output, ``KINDS_OUT``: a label or a final, with a frame payload only if it carries one, or a
    report); raise ValueError saying why it is malformed.

    Every field is checked here, once, so the labeller only ever sees
    canonical headers: ``schema`` 1; ``kind`` one of ``kinds``; ``process`` a
    non-empty string ≤ 256 characters; ``seq`` an integer 0…2⁵³ (not a bool,
    a float, a string, null, NaN or 1e400); ``time``/``sent``, where present,
    finite numbers or null; ``stream``, where present, a string ≤ 64 characters; a frame's
    ``dtype``/``shape`` and payload length consistent; an end's payload empty. The header is at most
    :data:`MAX_HEADER` bytes and any parse failure (including nesting deep
    enough to exhaust the parser's recursion) is a ValueError. A summary's or a report's payload is a JSON
    list of at most :data:`SUMMARY_PART` entries, checked entry by entry; it comes back as
    ``header["entries"]``.
    """
    if not isinstance(parts, (list, tuple)) or len(parts) != 3:
        raise ValueError(f"expected 3 parts, got {len(parts) if isinstance(parts, (list, tuple)) else type(parts).__name__}")
    raw = parts[1]
    if len(raw) > MAX_HEADER:
        raise ValueError(f"header of {len(raw)} bytes, longer than {MAX_HEADER}")
    header = _json(raw, "header")
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
    if header.get("stream") is not None and not _is_id(header["stream"], MAX_STREAM_ID):
        raise ValueError(f"stream must be a string of 1–{MAX_STREAM_ID} characters, got {header['stream']!r:.40}")
    if kind in ("summary", "report"):
        header["entries"] = _decode_list(header, parts[2])
        return header, None
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


def _decode_list(header: dict, payload: bytes) -> list[list]:
    """The checked entries of a summary (``[process, published]``) or a report (:data:`REPORT_FIELDS`)."""
    kind = header["kind"]
    if not _is_id(header.get("stream"), MAX_STREAM_ID):
        raise ValueError(f"a {kind} names its stream, got {header.get('stream')!r:.40}")
    parts = header.get("parts")
    if not _is_int(parts) or not 1 <= parts <= MAX_PARTS or header["seq"] >= parts:
        raise ValueError(f"a {kind} is part seq of parts ≤ {MAX_PARTS}, got {header['seq']!r:.20} of {parts!r:.20}")
    if kind == "report":
        index, count = header.get("index"), header.get("count")
        if not (_is_int(index) and _is_int(count) and 0 <= index < count <= SHARDS):
            raise ValueError(f"a report names its labeller's index < count ≤ {SHARDS}, got {index!r:.20}/{count!r:.20}")
        if not _is_id(header.get("labeller"), MAX_STREAM_ID) or type(header.get("resent")) is not bool \
                or not _is_number(header.get("ended")):
            raise ValueError("a report names its labeller, when the stream ended there, and whether it is resent")
    if len(payload) > MAX_LIST_BYTES:
        raise ValueError(f"{kind} payload of {len(payload)} bytes, longer than {MAX_LIST_BYTES}")
    entries = _json(payload, f"{kind} payload")
    if type(entries) is not list or len(entries) > SUMMARY_PART:
        raise ValueError(f"{kind} payload must be a list of at most {SUMMARY_PART} entries")
    for e in entries:
        short = type(e) is list and len(e) == 2
        full = kind == "report" and type(e) is list and len(e) == len(REPORT_FIELDS)
        if not (short or full) or not _is_id(e[0], MAX_PROCESS_ID) or not all(_is_count(v) for v in e[1:]) \
                or (full and e[2] not in (0, 1)):
            raise ValueError(f"bad {kind} entry {e!r:.80}")
    return entries


def _chunks(items: list, most: int, size: int) -> list[list]:
    """``items`` cut into lists of at most ``most`` items whose JSON is at most about ``size`` bytes."""
    body = json.dumps(items)
    if len(items) <= most and len(body) <= size:
        return [items] if items else []
    out: list[list] = []
    chunk: list = []
    used = 2
    for item in items:
        n = len(json.dumps(item)) + 2
        if chunk and (len(chunk) >= most or used + n > size):
            out.append(chunk)
            chunk, used = [], 2
        chunk.append(item)
        used += n
    if chunk:
        out.append(chunk)
    return out


def decode_upstream(msg: bytes) -> tuple[str, Any]:
    """One message a subscriber sent up to the publisher's XPUB: ``("subscribe" | "cancel", topic)``,
    ``("hello" | "bye", {"id", "index", "count"})`` (a labeller's identity topic) or ``("ack", {"id", "p"})``;
    raise ValueError saying why it is malformed. Bounded like :func:`decode`."""
    if not isinstance(msg, bytes) or not msg:
        raise ValueError("empty upstream message")
    if len(msg) > MAX_UPSTREAM:
        raise ValueError(f"upstream message of {len(msg)} bytes, longer than {MAX_UPSTREAM}")
    head, body = msg[:1], msg[1:]
    if head in (b"\x00", b"\x01"):
        if body[:1] != HELLO:
            return ("subscribe" if head == b"\x01" else "cancel"), body
        who = _json(body[1:], "labeller identity")
        if not (isinstance(who, dict) and _is_id(who.get("id"), MAX_STREAM_ID) and _is_int(who.get("index"))
                and _is_int(who.get("count")) and 0 <= who["index"] < who["count"] <= SHARDS):
            raise ValueError(f"bad labeller identity {body[:80]!r}")
        return ("hello" if head == b"\x01" else "bye"), who
    if head == ACK:
        ack = _json(body, "acknowledgement")
        entries = ack.get("p") if isinstance(ack, dict) else None
        if not (isinstance(ack, dict) and _is_id(ack.get("id"), MAX_STREAM_ID) and type(entries) is list
                and len(entries) <= ACK_ENTRIES):
            raise ValueError(f"bad acknowledgement {body[:80]!r}")
        for e in entries:
            if not (type(e) is list and len(e) == 3 and _is_id(e[0], MAX_PROCESS_ID) and _is_count(e[1])
                    and e[2] in (0, 1) and _is_int(e[2])):
                raise ValueError(f"bad acknowledgement entry {e!r:.80}")
        return "ack", ack
    raise ValueError(f"unknown upstream message {msg[:20]!r}")


class StreamStalled(HilError):
    """No subscriber took a frame for the acknowledgement timeout (a labeller hung, or stopped reading)."""


@dataclass
class LabellerSeen:
    """A labeller as the publisher knows it: from its identity subscription, heartbeats and acknowledgements."""

    id: str
    index: int
    count: int
    joined: float = field(default_factory=time.monotonic)
    heard: float = field(default_factory=time.monotonic)
    gone: str | None = None  # why it counts as gone: "disconnected", "silent for 10 s"
    acked: int = 0  # frames it acknowledged as labelled

    @property
    def name(self) -> str:
        return f"labeller {self.index}/{self.count}"

    def serves(self, shard: int) -> bool:
        return shard % self.count == self.index


@dataclass
class Accounting:
    """What a stream published and what its labellers acknowledged (see the module's "Accounting")."""

    frames: int
    processes: int
    #: labeller name → (frames unlabelled, of its frames published, processes touched, why it is gone or "")
    per_labeller: dict[str, tuple[int, int, int, str]]
    unaccounted: int = 0  # frames on shards served only by subscribers that never said who they are
    stalled: str = ""

    @property
    def unlabelled(self) -> int:
        return sum(v[0] for v in self.per_labeller.values())

    @property
    def ok(self) -> bool:
        return self.unlabelled == 0 and not self.stalled

    def line(self) -> str:
        """One line: all labelled, or how many frames went unlabelled, per labeller."""
        head = f"{self.frames} frames of {self.processes} processes published"
        who = "; ".join(f"{name}{f' ({why})' if why else ''}: {n} of {of} unlabelled"
                        + (f" in {k} process{'es' if k != 1 else ''}" if n else "")
                        for name, (n, of, k, why) in sorted(self.per_labeller.items()))
        tail = (f"; {self.unaccounted} frames went to subscribers that do not acknowledge (not `hil stream label`):"
                " not accounted for") if self.unaccounted else ""
        stall = f"; {self.stalled}" if self.stalled else ""
        if not self.per_labeller:
            return head + (tail or "; no labeller acknowledged") + stall
        if self.ok:
            return f"{head}, all labelled ({who}){tail}"
        return f"{self.unlabelled} of {self.frames} frames unlabelled — {who}{tail}{stall} ({head})"


class FramePublisher:
    """Publishes frames on an XPUB socket; waits for subscribers on every shard, and listens to the labellers.

    ``ack_timeout`` (s) bounds every wait on the labellers: a labeller silent
    that long (no heartbeat, no acknowledgement) counts as gone, a send that
    finds the queue full that long raises :class:`StreamStalled`, and
    :meth:`finish` stops waiting for the last acknowledgements after that long
    without one. ``on_note`` hears each labeller joining or going, as a line.
    """

    def __init__(self, endpoint: str = "tcp://127.0.0.1:5555", hwm: int = 10_000, allow_remote: bool = False,
                 context: zmq.Context | None = None, ack_timeout: float = 10.0,
                 on_note: Callable[[str], None] | None = None):
        check_loopback(endpoint, allow_remote)
        if not ack_timeout > 0:
            raise HilError(f"ack_timeout must be > 0 s, got {ack_timeout}")
        self.ctx = context or zmq.Context.instance()
        self.sock = self.ctx.socket(zmq.XPUB)
        self.sock.setsockopt(zmq.XPUB_VERBOSE, 1)
        self.sock.setsockopt(zmq.XPUB_NODROP, 1)
        self.sock.setsockopt(zmq.SNDHWM, hwm)
        self.sock.setsockopt(zmq.LINGER, 1000)
        self.sock.setsockopt(zmq.SNDTIMEO, max(1, int(ack_timeout * 1000)))  # a full queue: bounded, never a hang
        self.sock.bind(endpoint)
        self.endpoint = self.sock.getsockopt_string(zmq.LAST_ENDPOINT)
        self.ack_timeout = ack_timeout
        self.on_note = on_note
        self.stream = f"{os.getpid()}-{secrets.token_hex(4)}"
        self.covered: set[bytes] = set()
        self.sent = 0
        self.backpressure = 0  # sends that found the queue full and had to wait
        self.published: dict[str, int] = {}  # process → frames published (its end's seq)
        self.labellers: dict[str, LabellerSeen] = {}
        self.labelled: dict[str, dict[str, int]] = {}  # process → labeller id → frames it acknowledged
        self.done: set[str] = set()  # processes whose end a labeller acknowledged
        self.malformed = 0  # upstream messages that did not parse (counted, dropped)
        self.notes: deque[str] = deque(maxlen=ERRORS_KEPT)
        self.last_ack = time.monotonic()
        self._next_poll = 0.0
        self.stalled = ""

    def _note(self, text: str) -> None:
        self.notes.append(text)
        if self.on_note is not None:
            self.on_note(text)

    def poll_upstream(self, limit: int = 100_000) -> None:
        """Take what the subscribers sent up (subscriptions, identities, acknowledgements) and check heartbeats."""
        for _ in range(limit):
            try:
                msg = self.sock.recv(_NOBLOCK)
            except zmq.Again:
                break
            while self.sock.getsockopt(zmq.RCVMORE):  # only single-part messages are ours: drop the rest
                self.sock.recv()
                msg = b""
            self._upstream(msg)
        now = time.monotonic()
        self._next_poll = time.perf_counter() + 0.02
        for lab in self.labellers.values():
            if lab.gone is None and now - lab.heard > self.ack_timeout:
                lab.gone = f"silent for {now - lab.heard:.1f} s"
                self._note(f"{lab.name} ({lab.id}) gone: {lab.gone}")

    def _upstream(self, msg: bytes) -> None:
        try:
            what, body = decode_upstream(msg)
        except ValueError as exc:
            self.malformed += 1
            if self.malformed <= 10:  # a flood of garbage is counted, not printed line by line
                self._note(f"malformed upstream message dropped: {exc}")
            return
        now = time.monotonic()
        if what == "subscribe":
            self.covered.add(body)
        elif what == "cancel":
            self.covered.discard(body)  # XPUB tells a cancel only when no subscriber is left on the topic
        elif what == "hello":
            lab = self.labellers.get(body["id"])
            if lab is None:
                if len(self.labellers) >= 4 * SHARDS:
                    self.malformed += 1
                    return
                lab = self.labellers[body["id"]] = LabellerSeen(body["id"], body["index"], body["count"])
                self._note(f"{lab.name} ({lab.id}) joined")
            lab.heard, lab.gone = now, None
        elif what == "bye":
            lab = self.labellers.get(body["id"])
            if lab is not None and lab.gone is None:
                lab.gone = f"disconnected after {now - lab.joined:.1f} s"
                self._note(f"{lab.name} ({lab.id}) gone: {lab.gone}")
        else:  # an acknowledgement (or, with no entries, a heartbeat)
            lab = self.labellers.get(body["id"])
            if lab is None:
                self.malformed += 1
                if self.malformed <= 10:
                    self._note(f"acknowledgement from an unknown labeller {body['id']!r:.40} dropped")
                return
            lab.heard = now
            if lab.gone is not None and lab.gone.startswith("silent"):
                lab.gone = None  # it was only slow
            for process, frames, done in body["p"]:
                if process not in self.published:
                    continue  # another stream's (or nobody's) process: nothing of ours
                counts = self.labelled.setdefault(process, {})
                lab.acked += frames - counts.get(lab.id, 0)
                counts[lab.id] = frames
                if done:
                    self.done.add(process)
                self.last_ack = now

    def wait_for_subscribers(self, timeout: float = 10.0) -> None:
        """Block until every shard topic has a subscriber (the late-joiner handshake)."""
        needed = {topic_of(s) for s in range(SHARDS)}
        deadline = time.monotonic() + timeout
        self.poll_upstream()
        while not needed <= self.covered:
            left = deadline - time.monotonic()
            if left <= 0 or not self.sock.poll(int(left * 1000)):
                missing = sorted(t.decode() for t in needed - self.covered)
                raise HilError(f"no labeller subscribed to shards {', '.join(missing)} within {timeout:g} s")
            self.poll_upstream()

    def _send(self, parts: list[bytes]) -> None:
        topic, header, payload = parts
        if time.perf_counter() >= self._next_poll:
            self.poll_upstream()  # acknowledgements queue up in the XPUB until read: read them as we go
        try:
            self.sock.send(topic, _NOBLOCK_MORE)  # a message's parts go out together or not at all
        except zmq.Again:
            self.backpressure += 1
            try:
                self.sock.send(topic, _MORE)  # wait: NODROP turns overflow into back-pressure, SNDTIMEO bounds it
            except zmq.Again:
                stuck = [lab.name for lab in self.labellers.values() if lab.gone is None]
                self.stalled = (f"no subscriber took a frame for {self.ack_timeout:g} s (queue full; "
                                f"{', '.join(stuck) or 'no labeller'} not reading)")
                raise StreamStalled(self.stalled) from None
        self.sock.send(header, _MORE)
        self.sock.send(payload, copy=len(payload) < 65536)
        self.sent += 1

    def publish(self, process: str, seq: int, t: float, frame: np.ndarray) -> None:
        self._send(encode_frame(process, seq, t, frame, self.stream))
        if seq >= self.published.get(process, 0):
            self.published[process] = seq + 1

    def end(self, process: str, seq: int) -> None:
        self._send(encode_end(process, seq, self.stream))
        self.published[process] = max(self.published.get(process, 0), seq)

    def _owners(self, process: str) -> list[LabellerSeen]:
        shard = shard_of(process)
        return [lab for lab in self.labellers.values() if lab.serves(shard)]

    def finish(self, timeout: float | None = None) -> Accounting:
        """End the stream: send its summary, wait for the last acknowledgements, and account for every frame.

        Waits while some process lacks its end's acknowledgement and a labeller
        that serves it is still there, and at most ``timeout`` (default: the
        acknowledgement timeout) s after the last acknowledgement.
        """
        timeout = self.ack_timeout if timeout is None else timeout
        if not self.stalled:
            entries = [[p, n] for p, n in self.published.items()]
            # room for a labeller's counts in its report: 6 numbers per entry
            chunks = _chunks(entries, SUMMARY_PART, MAX_LIST_BYTES - SUMMARY_PART * 6 * 17)[:MAX_PARTS] or [[]]
            try:
                for k, chunk in enumerate(chunks):
                    self._send(encode_summary(self.stream, k, len(chunks), chunk))
            except StreamStalled:
                pass
        start = time.monotonic()
        while not self.stalled:
            self.poll_upstream()
            waiting = [p for p in self.published if p not in self.done
                       and any(lab.gone is None for lab in self._owners(p))]
            now = time.monotonic()
            if not waiting or now - max(self.last_ack, start) > timeout:
                break
            self.sock.poll(50)
        return self.accounting()

    def accounting(self) -> Accounting:
        """Frames published and not acknowledged as labelled, per labeller (no waiting: see :meth:`finish`)."""
        per: dict[str, list] = {}
        unaccounted = 0
        for process, frames in self.published.items():
            owners = self._owners(process)
            if not owners:
                unaccounted += frames
                continue
            name = owners[0].name
            why = "; ".join(sorted({f"{lab.id} gone: {lab.gone}" for lab in owners if lab.gone}))
            if any(lab.gone is None for lab in owners):
                why = ""  # a labeller still serves these shards (one that went was replaced)
            row = per.setdefault(name, [0, 0, 0, ""])
            missing = max(frames - sum(self.labelled.get(process, {}).values()), 0)
            row[0] += missing
            row[1] += frames
            row[2] += missing > 0
            row[3] = row[3] or why
        return Accounting(sum(self.published.values()), len(self.published),
                          {k: tuple(v) for k, v in per.items()}, unaccounted, self.stalled)

    def close(self) -> None:
        self.sock.close()


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


class Receiver:
    """Takes what waits on a socket: busy-polls for ``spin_s`` after the last message, then blocks in poll.

    Blocking costs a thread wake-up per message (~0.1 ms on these VMs) and
    lets the caches go cold between frames (the reference model's 20 MB of
    weights come back from DRAM: 0.57 → 1.2 ms per step at 200 frames/s).
    Spinning trades one core for that latency; ``spin_s = 0`` never spins.

    Spinning only pays with a core of one's own: on a busy machine a spinning
    thread has used its share and waits a whole scheduler slice (ms) when the
    frame comes, where a sleeping one is woken first. So a spin turn that
    finds it lost the core for more than :data:`SPIN_PREEMPTED_S` stops spinning for
    ``backoff_s`` (counted in ``backoffs``), and the tail degrades to the sleeping receiver's.
    """

    def __init__(self, sock: zmq.Socket, spin_s: float = 0.0, poll_ms: int = 100, max_batch: int = 64,
                 backoff_s: float = SPIN_BACKOFF_S):
        self.sock, self.spin_s, self.poll_ms, self.max_batch = sock, spin_s, poll_ms, max_batch
        self.backoff_s = backoff_s
        self.last = time.perf_counter()
        self.backoffs = 0
        self._calm_until = 0.0
        self._turn: float | None = None

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
            self.last, self._turn = now, None
            return batch
        if now - self.last < self.spin_s and now >= self._calm_until:
            if self._turn is None or now - self._turn <= SPIN_PREEMPTED_S:
                self._turn = now
                _yield_cpu()  # the socket's I/O thread may be waiting for this very core
                return batch
            self.backoffs += 1  # this turn lost the core: sleep between messages for a while
            self._calm_until = now + self.backoff_s
        self._turn = None
        if self.sock.poll(self.poll_ms):
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
          ready: Callable[[], None] | None = None, spin_s: float = 0.0,
          malformed: Callable[[str], None] | None = None) -> None:
    """Subscribe to one or more labellers' outputs and hand each checked header to ``handle``.

    Every message goes through :func:`decode` (``KINDS_OUT``); one that does not parse goes to ``malformed``
    (why, as a line) and is dropped. A report's entries come as ``header["entries"]``.
    ``ready`` is called once the subscriptions are set, so a caller can start the producers only then;
    ``spin_s`` busy-polls that long after each label before blocking (see :class:`Receiver`).
    """
    ctx = context or zmq.Context.instance()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.RCVHWM, 100_000)
    sub.setsockopt(zmq.LINGER, 0)
    for endpoint in [endpoints] if isinstance(endpoints, str) else endpoints:
        sub.connect(endpoint)
    for k in kinds:
        sub.setsockopt(zmq.SUBSCRIBE, k)
    if ready is not None:
        ready()
    rx = Receiver(sub, spin_s=spin_s, max_batch=1000)
    try:
        while until is None or not until():
            for parts in rx.take():
                try:
                    header, _ = decode(parts, KINDS_OUT)
                except ValueError as exc:
                    if malformed is not None:
                        malformed(f"malformed message dropped: {exc}")
                    continue
                handle(header)
    finally:
        sub.close()


@dataclass
class ProcessLoss:
    """One process of a stream as a watcher saw it: frames published, labelled, labels shown, and the losses.

    ``labelled`` is None when the process's labeller sent no report (its losses are then ``unknown``).
    """

    process: str
    published: int
    labelled: int | None
    shown: int
    never: int = 0  # frames of a process that never reached its labeller
    gaps: int = 0  # frames its labeller never received
    late: int = 0  # frames that came after a later one: not stepped, so no label
    refused: int = 0  # frames the model could not take
    dropped: int = 0  # labelled, but the label never reached this watcher
    unknown: int = 0  # not shown here, and no report says why
    duplicates: int = 0  # frames received twice: the second not stepped (not a loss)
    final: bool = False  # the process's final label reached this watcher

    @property
    def lost(self) -> int:
        return self.never + self.gaps + self.late + self.refused + self.dropped + self.unknown


COLUMNS = ("published", "labelled", "shown", "lost", "never-received", "gap", "late", "refused", "dropped",
           "unknown", "duplicates")


@dataclass
class StreamLoss:
    """A stream's losses, per process, as :class:`StreamAudit` worked them out."""

    stream: str
    labellers: list[str]  # "i/n" of the labellers that reported
    notes: list[str]  # labellers that sent no (complete) report
    rows: list[ProcessLoss]

    @property
    def total(self) -> ProcessLoss:
        t = ProcessLoss("total", 0, 0, 0)
        for r in self.rows:
            t.published += r.published
            t.labelled += r.labelled or 0
            t.shown += r.shown
            for k in ("never", "gaps", "late", "refused", "dropped", "unknown", "duplicates"):
                setattr(t, k, getattr(t, k) + getattr(r, k))
        return t

    @property
    def finals_missing(self) -> int:
        """Processes their labeller finished whose final label never reached this watcher."""
        return sum(1 for r in self.rows if not r.final and r.labelled is not None and r.never == 0)

    @property
    def lost(self) -> bool:
        return self.total.lost > 0 or self.finals_missing > 0

    def lines(self) -> list[str]:
        """The table: a header, one row per process, the total; then a one-line verdict."""
        t = self.total
        width = min(max([len("process"), len(f"total ({len(self.rows)} processes)")]
                        + [len(r.process) for r in self.rows]), 48)

        def row(name: str, r: ProcessLoss, final: str) -> str:
            values = (r.published, "?" if r.labelled is None else r.labelled, r.shown, r.lost, r.never, r.gaps,
                      r.late, r.refused, r.dropped, r.unknown, r.duplicates)
            return f"  {name[:width]:<{width}} " + " ".join(f"{v!s:>{len(c)}}" for c, v in zip(COLUMNS, values)) \
                + f"  {final}"

        out = [f"stream {self.stream}: {len(self.rows)} processes, report from labeller "
               f"{', '.join(self.labellers) or 'none'}" + "".join(f"; {n}" for n in self.notes),
               f"  {'process':<{width}} " + " ".join(COLUMNS) + "  final"]
        out += [row(r.process, r, "yes" if r.final else "no") for r in self.rows]
        out.append(row(f"total ({len(self.rows)} processes)", t, f"{sum(r.final for r in self.rows)}"))
        if self.lost:
            kinds = ", ".join(f"{name} {v}" for name, v in (
                ("never received", t.never), ("gap", t.gaps), ("late", t.late), ("refused", t.refused),
                ("dropped on the way here", t.dropped), ("unknown", t.unknown)) if v)
            n = self.finals_missing
            finals = f"; {n} final label{'s' if n != 1 else ''} missing" if n else ""
            out.append(f"stream {self.stream}: {t.lost} of {t.published} frames' labels lost"
                       + (f" ({kinds})" if kinds else "") + finals)
        else:
            out.append(f"stream {self.stream}: all {t.published} frames of {len(self.rows)} processes labelled "
                       "and shown, nothing lost")
        return out


#: Processes whose labels a watcher counts at once, and streams it gathers reports for at once (bounded memory).
TRACKED_KEPT = 200_000
STREAMS_KEPT = 16


#: Report entries a watcher holds for one stream while it waits for the rest (a crafted report cannot fill memory).
GATHERED_KEPT = 1_000_000


@dataclass
class _Gathering:
    first: float  # monotonic time of its first report part
    labellers: dict[str, dict] = field(default_factory=dict)  # id → {"index", "count", "parts", "got": {part: entries}}
    entries: int = 0


class StreamAudit:
    """What ``hil stream watch`` makes of the labellers' output: labels shown per process, and per stream, once
    its reports are in, the losses (:class:`StreamLoss`).

    Hand it every label, final and report header (``watch(..., handle=audit)``) and call :meth:`poll` now and
    then: it returns the streams just completed — reported by ``expected`` labellers (the endpoints watched),
    or by as many as reported within ``timeout`` s of the first report. A report sent again for a late watcher
    (``resent``) counts only if this watcher saw a label of that stream or the stream ended after ``started``
    (wall clock): a stream that was over before the watcher came is noted, not reported.
    """

    def __init__(self, expected: int = 1, timeout: float = 10.0, started: float | None = None):
        self.expected = max(1, int(expected))
        self.timeout = timeout
        self.started = time.time() if started is None else started
        self._shown: dict[tuple[str | None, str], list[int]] = {}  # (stream, process) → [labels, last seq, final]
        self._seen_streams: dict[str | None, None] = {}
        self._gathering: dict[str, _Gathering] = {}
        self._done: dict[str, None] = {}
        self.reports: deque[StreamLoss] = deque(maxlen=STREAMS_KEPT * 4)  # the latest, for a long watch
        self.notes: deque[str] = deque(maxlen=100)

    def __call__(self, header: dict) -> None:
        kind = header.get("kind")
        if kind == "report":
            self._report(header)
            return
        if kind not in ("label", "final"):
            return
        stream = header.get("stream")
        key = (stream, str(header.get("process")))
        counts = self._shown.get(key)
        if counts is None:
            counts = self._shown[key] = [0, -1, 0]
            if len(self._shown) > TRACKED_KEPT:
                del self._shown[next(iter(self._shown))]
            self._seen_streams[stream] = None
            if len(self._seen_streams) > STREAMS_KEPT * 4:
                del self._seen_streams[next(iter(self._seen_streams))]
        seq = header.get("seq")
        if kind == "final":
            counts[2] = 1
        elif _is_int(seq) and seq > counts[1]:  # a labeller labels a process's frames in order: once each
            counts[0] += 1
            counts[1] = seq

    def _report(self, header: dict) -> None:
        stream = header["stream"]
        if stream in self._done:
            return
        g = self._gathering.get(stream)
        if g is None:
            if header["resent"] and stream not in self._seen_streams and header["ended"] < self.started:
                note = f"stream {stream} ended before this watcher started: not reported"
                if note not in self.notes:
                    self.notes.append(note)
                return
            if len(self._gathering) >= STREAMS_KEPT:  # the oldest goes out with what it has
                self._complete(next(iter(self._gathering)))
            g = self._gathering[stream] = _Gathering(time.monotonic())
        lab = g.labellers.setdefault(header["labeller"], {"index": header["index"], "count": header["count"],
                                                          "parts": header["parts"], "got": {}})
        if len(g.labellers) > SHARDS:
            del g.labellers[header["labeller"]]
            return
        if header["seq"] < lab["parts"] and header["seq"] not in lab["got"]:
            if g.entries + len(header["entries"]) > GATHERED_KEPT:
                self.notes.append(f"stream {stream}: report beyond {GATHERED_KEPT} entries dropped")
                return
            g.entries += len(header["entries"])
            lab["got"][header["seq"]] = header["entries"]

    def poll(self, now: float | None = None) -> list[StreamLoss]:
        """Streams whose reports are all in (or whose timeout passed) since the last call, worked out."""
        now = time.monotonic() if now is None else now
        finished = []
        for stream, g in list(self._gathering.items()):
            complete = {lab["index"] for lab in g.labellers.values() if len(lab["got"]) >= lab["parts"]}
            count = max(lab["count"] for lab in g.labellers.values())
            if len(complete) >= min(self.expected, count) or now - g.first > self.timeout:
                finished.append(self._complete(stream))
        return finished

    def _complete(self, stream: str) -> StreamLoss:
        g = self._gathering.pop(stream)
        self._done[stream] = None
        if len(self._done) > STREAMS_KEPT * 4:
            del self._done[next(iter(self._done))]
        count = max(lab["count"] for lab in g.labellers.values())
        complete = {lab["index"] for lab in g.labellers.values() if len(lab["got"]) >= lab["parts"]}
        everyone = self.expected >= count  # watching every labeller: a silent one's processes count
        published: dict[str, int] = {}
        owned: dict[str, list] = {}
        for lab in g.labellers.values():
            for entries in lab["got"].values():
                for e in entries:
                    published.setdefault(e[0], e[1])
                    if len(e) == len(REPORT_FIELDS):
                        owned[e[0]] = e
        notes = [f"labeller {i}/{count}: no report within {self.timeout:g} s"
                 for i in range(count) if i not in complete and (everyone or any(
                     lab["index"] == i for lab in g.labellers.values()))]
        rows = []
        for process, n in published.items():
            shown, _, final = self._shown.pop((stream, process), (0, -1, 0))
            e = owned.get(process)
            if e is None:
                if not everyone and shard_of(process) % count not in {lab["index"] for lab in g.labellers.values()}:
                    continue  # another labeller's, and this watcher does not watch it
                rows.append(ProcessLoss(process, n, None, shown, unknown=max(n - shown, 0), final=bool(final)))
                continue
            _, n, received, labelled, gaps, late, dup, refused = e
            shown = min(shown, labelled)
            rows.append(ProcessLoss(process, n, labelled, shown, never=0 if received else n, gaps=gaps, late=late,
                                    refused=refused, dropped=labelled - shown, duplicates=dup, final=bool(final)))
        labellers = sorted(f"{lab['index']}/{lab['count']}" for lab in g.labellers.values()
                           if len(lab["got"]) >= lab["parts"])
        loss = StreamLoss(stream, labellers, notes, rows)
        self.reports.append(loss)
        return loss
