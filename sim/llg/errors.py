"""Typed errors of the LLG twin; each message says what to change."""

from __future__ import annotations

from hil.errors import HilError


class LLGInputError(HilError, ValueError):
    """A parameter, pulse, field value or time given to the twin is invalid."""


class UnstableTimeStepError(HilError, ArithmeticError):
    """The time step is too long for the fields in play (or the spins blew up).

    ``dt`` is the step that failed and ``dt_max`` the longest step the twin
    accepts for the same fields, both in s.
    """

    def __init__(self, message: str, dt: float, dt_max: float):
        super().__init__(message)
        self.dt = dt
        self.dt_max = dt_max


class SkyrmionUnstableError(HilError, RuntimeError):
    """Damped relaxation of the skyrmion ansatz did not end in a skyrmion."""
