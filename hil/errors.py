"""Typed errors of spin-hil: each says what went wrong and what to do about it.

The CLI prints ``str(error)`` as one line (no traceback unless ``--debug``),
so every message here is written for a lab user, not a developer.
"""

from __future__ import annotations


class HilError(Exception):
    """Base of every error the toolkit raises on purpose."""


class LimitError(HilError, ValueError):
    """A request exceeds a safety limit of the bench; nothing was sent."""


class BenchError(HilError):
    """A bench file is invalid. ``problems`` holds one (file, key, reason) per fault."""

    def __init__(self, problems: list[tuple[str, str, str]]):
        self.problems = problems
        lines = [f"{f}: {k}: {r}" if k else f"{f}: {r}" for f, k, r in problems]
        noun = "problem" if len(lines) == 1 else "problems"
        super().__init__(f"invalid bench ({len(lines)} {noun}):\n  " + "\n  ".join(lines))


class StoreError(HilError):
    """The HDF5 store cannot do what was asked (locked, truncated, unknown run)."""


class InstrumentError(HilError):
    """An instrument did not answer, or answered with an error."""


class UnknownNameError(HilError, KeyError):
    """A name looked up in a registry does not exist; the message lists the known ones."""

    def __init__(self, kind: str, name: str, known: list[str]):
        super().__init__(f"unknown {kind} {name!r}; known: {', '.join(sorted(known))}")

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


def lookup(registry: dict, kind: str, name: str):
    """``registry[name]``, or an :class:`UnknownNameError` listing what exists."""
    try:
        return registry[name]
    except KeyError:
        raise UnknownNameError(kind, name, list(registry)) from None



class InputDataError(HilError, ValueError):
    """An array given as input cannot be used as given (shape, NaN, geometry, units).

    Shared by every family that validates maps and frames at its boundary (the
    stray-field forward model in hil.sim.stray, the stray-field CNN in
    hil.models), so one ``except`` serves both; the message names the remedy.
    """
