"""Taking messages off a ZMQ socket with little latency, without holding a core a busy machine needs.

:class:`Receiver` is what the labeller and the watchers (:func:`hil.stream_watch.watch`, ``hil view``) read
their sockets with; its docstring says when spinning pays and when it gives way.
"""

from __future__ import annotations

import os
import time

import zmq

_yield_cpu = getattr(os, "sched_yield", lambda: None)  # not on Windows


#: A busy-poll turn that took longer than this (s) lost its core to another process: the machine is busy.
SPIN_PREEMPTED_S = 0.002
#: A receiver that lost its core while spinning sleeps between messages (as ``spin_s = 0``) this long (s).
SPIN_BACKOFF_S = 1.0


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
