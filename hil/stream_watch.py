"""The watching end of a stream: :func:`watch` hands each checked header of the labellers' output to a
handler — :class:`LabelTally` (labels that never arrived), :class:`LabelLog` (labels into a store run) or
:class:`StreamAudit` (per stream, what was lost and where).

Accounting (issue 15), the loop that ends here (the other, publisher ← labellers, is in
:mod:`hil.stream_publisher`):

* **Publisher → labellers → watchers.** At the end of a stream the publisher
  sends a ``summary`` (topic ``all``, every labeller subscribes): every process
  of the stream with its frame count, in parts of at most :data:`~hil.stream_wire.SUMMARY_PART`.
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

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import numpy as np
import zmq

from hil.stream_receiver import Receiver
from hil.stream_wire import KINDS_OUT, REPORT_FIELDS, SHARDS, _is_int, decode, shard_of

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
