"""Signals that end a run: turned into one exception, and held off while outputs are switched off.

A lab user stops a run with Ctrl-C (SIGINT), a scheduler or ``kill`` with
SIGTERM, and a closed terminal or SSH session with SIGHUP. All three must end
the same way: the run marked ``interrupted`` with the signal's name and every
output switched off. :func:`installed` makes the first of them raise
:class:`Interrupted` (a ``KeyboardInterrupt``, so code that already cleans up
on Ctrl-C cleans up on all three); a repeated signal is reported and not
obeyed, since the shutdown it would abort is the one thing that must finish.

:func:`held` defers these signals around a critical section (switching
outputs off, marking a run) and re-delivers the first one afterwards, for
library users who never called :func:`installed`.

Nothing can catch SIGKILL or a power cut: see the README's bench section for
what a bench can do about those (instrument-side output timeouts, interlocks).
"""

from __future__ import annotations

import signal
import sys
import threading
from contextlib import contextmanager
from typing import Iterator

#: The signals that end a run cleanly (SIGHUP does not exist on Windows).
CATCHABLE: tuple[signal.Signals, ...] = tuple(
    getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n))


class Interrupted(KeyboardInterrupt):
    """A run was stopped by a signal; ``signal_name`` says which (SIGINT, SIGTERM, SIGHUP)."""

    def __init__(self, signal_name: str = "SIGINT"):
        super().__init__(signal_name)
        self.signal_name = signal_name


def signal_name(exc: BaseException) -> str:
    """The signal behind an interrupt: an :class:`Interrupted`'s name, else SIGINT (a bare Ctrl-C)."""
    return getattr(exc, "signal_name", "SIGINT")


class _Handler:
    """First signal: raise :class:`Interrupted`. Later ones: say the shutdown continues."""

    def __init__(self) -> None:
        self.first: str | None = None

    def __call__(self, signum: int, frame) -> None:  # noqa: ARG002 — signal handler signature
        name = signal.Signals(signum).name
        if self.first is None:
            self.first = name
            raise Interrupted(name)
        try:
            print(f"hil: {name} again: still switching outputs off (bounded per instrument); "
                  "not stopping halfway", file=sys.stderr, flush=True)
        except Exception:  # a closed terminal (SIGHUP) must not break the shutdown
            pass


@contextmanager
def installed(restore: bool = True) -> Iterator[_Handler]:
    """Inside the block, SIGINT, SIGTERM and SIGHUP raise :class:`Interrupted` (first one) or are
    reported (repeats). Afterwards the previous handlers come back — unless ``restore`` is false
    and a signal came: a process on its way out keeps ignoring repeats, so a late second Ctrl-C
    cannot turn a clean exit status into a death by signal. Outside the main thread, nothing changes."""
    handler = _Handler()
    if threading.current_thread() is not threading.main_thread():
        yield handler
        return
    previous = {sig: signal.signal(sig, handler) for sig in CATCHABLE}
    try:
        yield handler
    finally:
        if restore or handler.first is None:
            for sig, old in previous.items():
                signal.signal(sig, old)
        else:  # ignored, not handled: the interpreter's own teardown would reset a Python handler to default
            for sig in previous:
                signal.signal(sig, signal.SIG_IGN)


@contextmanager
def held() -> Iterator[list[int]]:
    """Defer SIGINT/SIGTERM/SIGHUP inside the block; afterwards re-deliver the first one that came.

    Outside the main thread (where handlers cannot be set) this does nothing:
    signals are only ever delivered to the main thread anyway.
    """
    if threading.current_thread() is not threading.main_thread():
        yield []
        return
    caught: list[int] = []
    previous = {}
    try:
        for sig in CATCHABLE:
            previous[sig] = signal.signal(sig, lambda signum, frame: caught.append(signum))
        yield caught
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
        if caught and previous.get(signal.Signals(caught[0])) not in (signal.SIG_IGN, None):
            signal.raise_signal(caught[0])
