"""The streaming wire format: the messages of a stream, their checks, and which labeller a process goes to.

Wire format: multipart ``[topic, header JSON, payload]``. The header carries
``schema``, ``kind``, ``process``, ``seq``, ``time`` (s, sample time), ``sent``
(wall clock of publication, for latency), ``stream`` (the publisher's id for
this stream) and for payloads ``dtype`` and ``shape``. Kinds: publisher →
labellers ``frame``, ``end`` (its ``seq`` is the process's frame count) and
``summary``; labeller → watchers ``label``, ``final`` and ``report``. Upstream,
on the publisher's own connection, a labeller says who it is (:data:`HELLO`)
and acknowledges what it labelled (:data:`ACK`): :func:`decode_upstream`, and
:mod:`hil.stream_publisher` for what the publisher makes of them.

Routing: a frame's topic is its process's shard (:func:`shard_of`: round robin over an id's counter);
labeller *i* of *n* subscribes to the shards ≡ i (mod n), so every frame of a
process reaches the same labeller and its recurrent state (plain PUSH
round-robin was measured to split processes across labellers).

Every message is checked once, on arrival (:func:`decode`, :func:`decode_upstream`): a malformed one is a
ValueError saying why. Endpoints bind to loopback unless told otherwise (:func:`check_loopback`).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
from typing import Any

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
