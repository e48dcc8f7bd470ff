"""What ``hil view`` takes from the labellers' output stream: labels per frame, finals, and the stream's health.

One background thread per server subscribes to the labellers (the same ZMQ
subscription as ``hil stream watch``: ``label`` and ``final`` messages, read
through :class:`hil.stream.Receiver`, parsed by :func:`hil.stream.decode`,
counted by :class:`hil.stream.LabelTally`) and stamps each message on arrival,
so the latency it reports is the stream's, not the page's refresh period. The
pages read a copy under a lock on their own tick.

A SUB socket reconnects by itself: when a labeller stops the view says how long
it has been silent, and when it comes back labels flow again. A message that does
not parse is counted as malformed and dropped; labels that never arrived (a jump
in a process's ``seq``) are counted as lost; ``gaps`` are the frames the
labellers saw missing, as they report them.

Label messages carry no frame today (the labeller publishes labels only); a
label message whose payload holds a frame (header ``dtype`` and ``shape``, as a
frame message has) is shown as the process's latest frame.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np

log = logging.getLogger("hil.view")

RATE_WINDOW_S = 10.0
LATENCIES_KEPT = 2000
EVENTS_KEPT = 5000
PROCESSES_KEPT = 24
SILENT_S = 3.0


@dataclass
class ProcessView:
    """What the page shows of one process: its labels per frame, probabilities, latest frame."""

    process: str
    seqs: list[int] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    probs: list[list[float]] = field(default_factory=list)
    final: str | None = None
    timed_out: bool = False
    frame: np.ndarray | None = None
    last: float = 0.0


@dataclass(frozen=True)
class Health:
    """The stream's health as ``hil stream watch`` counts it, plus rate and latency."""

    endpoints: tuple[str, ...]
    labels: int
    finals: int
    lost: int
    gaps: int
    malformed: int
    rate: float  # labels/s over the last RATE_WINDOW_S
    p50_ms: float
    p99_ms: float
    silent_s: float | None  # seconds since the last message; None before the first
    frames_carried: bool

    @property
    def state(self) -> str:
        where = ", ".join(self.endpoints)
        if self.silent_s is None:
            return f"waiting for a labeller on {where} (nothing received yet)"
        if self.silent_s > SILENT_S:
            return f"silent for {self.silent_s:.0f} s on {where} (stopped? the view reconnects by itself)"
        return f"receiving from {where}"

    def text(self) -> str:
        lat = "—" if math.isnan(self.p50_ms) else f"{self.p50_ms:.1f} / {self.p99_ms:.1f} ms"
        return (f"rate {self.rate:.1f} labels/s · latency p50 / p99 {lat} · gaps {self.gaps} · "
                f"malformed {self.malformed} · lost {self.lost} · {self.labels} labels, {self.finals} final labels")


def latency_ms(latencies: Iterable[float], q: float) -> float:
    values = np.asarray(list(latencies), dtype=float)
    return float(np.percentile(values, q) * 1e3) if values.size else math.nan


class StreamFollower:
    """Subscribes to one or more labellers in a thread; :meth:`snapshot` gives the pages a consistent copy."""

    def __init__(self, endpoints: str | Iterable[str], context: Any = None, poll_ms: int = 100):
        self.endpoints = (endpoints,) if isinstance(endpoints, str) else tuple(endpoints)
        self._ctx = context
        self.poll_ms = poll_ms
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        from hil.stream import LabelTally

        self.tally = LabelTally()
        self.malformed = 0
        self.errors: deque[str] = deque(maxlen=100)
        self.processes: dict[str, ProcessView] = {}
        self.final_counts: Counter = Counter()
        self.frame_counts: Counter = Counter()
        self._gaps: dict[str, int] = {}
        self._gaps_closed = 0
        self._arrivals: deque[float] = deque()
        self._latencies: deque[float] = deque(maxlen=LATENCIES_KEPT)
        self.events: deque[tuple[int, dict]] = deque(maxlen=EVENTS_KEPT)  # (serial, header) for the pages
        self.serial = 0
        self.last_arrival: float | None = None
        self.frames_carried = False
        self.version = 0

    # -- the thread ------------------------------------------------------------------
    def start(self) -> "StreamFollower":
        self._thread = threading.Thread(target=self._run, name="hil view stream", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        import zmq

        from hil.stream import Receiver

        ctx = self._ctx or zmq.Context.instance()
        sub = ctx.socket(zmq.SUB)
        sub.setsockopt(zmq.RCVHWM, 100_000)
        sub.setsockopt(zmq.LINGER, 0)
        sub.setsockopt(zmq.RECONNECT_IVL_MAX, 1000)  # a restarted labeller is found within a second
        for endpoint in self.endpoints:
            sub.connect(endpoint)
        for kind in (b"label", b"final"):
            sub.setsockopt(zmq.SUBSCRIBE, kind)
        rx = Receiver(sub, poll_ms=self.poll_ms, max_batch=1000)
        try:
            while not self._stop.is_set():
                batch = rx.take()
                if batch:
                    now = time.time()
                    with self._lock:
                        for parts in batch:
                            self.handle(parts, now)
        except Exception as exc:  # never take the server down; say why the live labels stopped
            log.exception("live labels stopped: %s", exc)
            with self._lock:
                self.errors.append(f"live labels stopped: {type(exc).__name__}: {exc}")
        finally:
            sub.close()

    # -- one message (also called directly by tests) ----------------------------------
    def handle(self, parts: list[bytes], now: float | None = None) -> None:
        from hil.stream import KINDS_OUT, decode

        now = time.time() if now is None else now
        try:
            header, carried = decode(parts, KINDS_OUT)  # checked: a payload matches its dtype/shape
            process = str(header["process"])
        except (ValueError, TypeError, KeyError) as exc:
            self.malformed += 1
            self.errors.append(f"malformed message dropped: {exc}")
            self.version += 1
            return
        self.tally(header)
        self.last_arrival = now
        self._arrivals.append(now)
        while self._arrivals and now - self._arrivals[0] > RATE_WINDOW_S:
            self._arrivals.popleft()
        sent = header.get("sent")
        if isinstance(sent, (int, float)) and header["kind"] == "label":
            self._latencies.append(max(now - float(sent), 0.0))
        view = self.processes.get(process)
        if view is None:
            view = self.processes[process] = ProcessView(process)
            if len(self.processes) > PROCESSES_KEPT:
                oldest = min(self.processes.values(), key=lambda v: v.last)
                del self.processes[oldest.process]
        view.last = now
        gaps = header.get("gaps", 0)
        if isinstance(gaps, int):
            self._gaps[process] = max(self._gaps.get(process, 0), gaps)
        label = str(header.get("label", "?"))
        probs = [float(p) for p in header.get("probs", []) if isinstance(p, (int, float))]
        if header["kind"] == "label":
            view.seqs.append(int(header["seq"]))
            view.labels.append(label)
            view.probs.append(probs)
            self.frame_counts[label] += 1
            frame = None if carried is None else carried[-1] if carried.ndim == 3 else carried if carried.ndim == 2 else None
            if frame is not None:
                view.frame, self.frames_carried = frame, True
        else:
            view.final, view.timed_out = label, bool(header.get("timed_out", False))
            self.final_counts[label] += 1
            self._gaps_closed += self._gaps.pop(process, 0)
        self.serial += 1
        self.events.append((self.serial, header))
        self.version += 1

    # -- what the pages read -----------------------------------------------------------
    def health(self) -> Health:
        now = time.time()
        with self._lock:
            recent = [t for t in self._arrivals if now - t <= RATE_WINDOW_S]
            span = min(RATE_WINDOW_S, now - recent[0]) if recent else 0.0
            rate = len(recent) / max(span, 1.0) if recent else 0.0
            lat = list(self._latencies)
            return Health(self.endpoints, self.tally.labels, self.tally.finals, self.tally.missing,
                          self._gaps_closed + sum(self._gaps.values()), self.malformed, rate,
                          latency_ms(lat, 50), latency_ms(lat, 99),
                          None if self.last_arrival is None else now - self.last_arrival, self.frames_carried)

    def snapshot(self, since: int = 0) -> dict:
        """A copy for one page: events after serial ``since``, processes (newest first), counts, health."""
        health = self.health()
        with self._lock:
            events = [h for s, h in self.events if s > since]
            procs = sorted(self.processes.values(), key=lambda v: v.last, reverse=True)
            copies = [ProcessView(p.process, list(p.seqs), list(p.labels), [list(x) for x in p.probs], p.final,
                                  p.timed_out, p.frame, p.last) for p in procs]
            return {"serial": self.serial, "events": events, "processes": copies, "health": health,
                    "finals": dict(self.final_counts), "frames": dict(self.frame_counts),
                    "errors": list(self.errors)[-5:], "version": self.version}


def label_line(header: dict) -> str:
    """One line per label, as ``hil stream watch`` prints it."""
    probs = " ".join(f"{p:.2f}" for p in header.get("probs", []) if isinstance(p, (int, float)))
    if header.get("kind") == "final":
        extra = " (timed out)" if header.get("timed_out") else ""
        return (f"{header['process']}  FINAL {header.get('label', '?'):<14} [{probs}] {header.get('frames', 0)} "
                f"frames, {header.get('gaps', 0)} gaps{extra}")
    return f"{header['process']}  #{header.get('seq', '?'):<3} {header.get('label', '?'):<14} [{probs}]"


__all__ = ["StreamFollower", "Health", "ProcessView", "label_line"]
