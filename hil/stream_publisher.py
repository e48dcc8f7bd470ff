"""The publishing end of a stream: :class:`FramePublisher` sends the frames and accounts for what the
labellers made of them; :func:`publish_process` feeds it a process, paced like a camera by a :class:`Pacer`.

No silent loss: the publisher is an XPUB that waits until every shard has a
subscriber before it sends (PUB/SUB drops what is sent before a subscriber
joins), and with XPUB_NODROP a full queue is back-pressure, counted, never a
quiet drop (and bounded: a queue that stays full for the acknowledgement
timeout is an error, not a hang).

Accounting (issue 15), in two loops that need no extra port; this one is the publisher's
(the other, publisher → labellers → watchers, is in :mod:`hil.stream_watch`):

* **Publisher ← labellers.** A labeller's inbound socket is an XSUB. Its first
  subscription is an identity topic, ``L{"id", "index", "count"}``, which the
  publisher's XPUB sees arrive (so it knows which labeller serves which shards)
  and sees *cancelled* the moment the labeller's connection drops (killed,
  crashed). Upstream on the same connection the labeller sends
  acknowledgements ``A{"id", "p": [[process, frames labelled, done], …]}`` after
  every batch it labels (:data:`~hil.stream_labeller.ACK_EVERY_S`), and one with no entries every
  :data:`~hil.stream_labeller.HEARTBEAT_S` as a heartbeat. The publisher counts, per process, frames
  published and frames acknowledged as labelled; :meth:`FramePublisher.finish` sends the stream's
  summary and waits (bounded by its timeout) for every process's last
  acknowledgement, a labeller that disconnected or stayed silent for the
  timeout being counted gone. What was published and never acknowledged is
  *unlabelled*, per labeller (:class:`Accounting`). Shards served only by
  subscribers that never said who they are (not ``hil stream label``) are
  reported as not accounted for, not as lost.
"""

from __future__ import annotations

import os
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np
import zmq

from hil.errors import HilError
from hil.stream_wire import (_MORE, _NOBLOCK, _NOBLOCK_MORE, ERRORS_KEPT, MAX_LIST_BYTES, MAX_PARTS, SHARDS,
                             SUMMARY_PART, _chunks, check_loopback, decode_upstream, encode_end, encode_frame,
                             encode_summary, shard_of, topic_of)

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
