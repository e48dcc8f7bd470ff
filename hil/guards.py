"""Safety limits, enforced in one place for every instrument of a role.

The bench hands protocols a guard, never the raw instrument. A guard checks
each request against the bench's limits *before* forwarding it, so an
out-of-limit current or pulse amplitude raises :class:`LimitError` and no
command reaches the instrument — real driver or twin alike. A guard also
exposes only the role's methods: a protocol cannot reach past the role to a
driver-specific call.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from hil import roles
from hil.errors import LimitError


@dataclass(frozen=True)
class Limits:
    """Safety limits of a bench, SI units."""

    max_bias_current: float  # A, magnitude
    max_compliance_voltage: float  # V, magnitude
    max_pulse_amplitude: float  # V, peak magnitude


def role_members(role: type) -> list[str]:
    """Public method and property names a role declares (its own and inherited)."""
    names: set[str] = set()
    for klass in role.__mro__:
        if klass in (object,) or klass.__name__ in ("Protocol", "Generic"):
            continue
        names.update(n for n in vars(klass) if not n.startswith("_"))
    return sorted(names)


def _finite(name: str, value: float, unit: str) -> float:
    value = float(value)
    if not math.isfinite(value):
        raise LimitError(f"{name} = {value} {unit} is not a finite number")
    return value


class Guard:
    """Forwards a role's methods to an instrument; subclasses check limits first."""

    role: type = roles.Instrument

    def __init__(self, instrument: Any, limits: Limits, name: str):
        self._instrument = instrument
        self._limits = limits
        self._name = name
        self._allowed = frozenset(role_members(self.role))

    @property
    def instrument(self) -> Any:
        """The wrapped instrument (for the bench's own shutdown, not for protocols)."""
        return self._instrument

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("_") or attr not in self._allowed:
            raise AttributeError(
                f"{self._name} plays role {self.role.__name__}, which has no {attr!r}; "
                f"protocols may use: {', '.join(sorted(self._allowed))}"
            )
        return getattr(self._instrument, attr)

    def __repr__(self) -> str:
        return f"<{self.role.__name__} {self._name}: {type(self._instrument).__name__}>"


class PulseGeneratorGuard(Guard):
    role = roles.PulseGenerator

    def set_gaussian_pulse(self, amplitude: float, width: float, delay: float) -> None:
        amplitude = _finite("pulse amplitude", amplitude, "V")
        width = _finite("pulse width", width, "s")
        delay = _finite("pulse delay", delay, "s")
        if abs(amplitude) > self._limits.max_pulse_amplitude:
            raise LimitError(
                f"{self._name}: pulse amplitude {amplitude:g} V exceeds the bench limit "
                f"max_pulse_amplitude = {self._limits.max_pulse_amplitude:g} V"
            )
        if width <= 0:
            raise LimitError(f"{self._name}: pulse width must be > 0 s, got {width:g} s")
        if delay < 0:
            raise LimitError(f"{self._name}: pulse delay must be >= 0 s, got {delay:g} s")
        self._instrument.set_gaussian_pulse(amplitude, width, delay)

    def set_arbitrary_pulse(self, samples: np.ndarray, sample_rate: float) -> None:
        samples = np.asarray(samples, dtype=float)
        if samples.ndim != 1 or samples.size < 2:
            raise LimitError(f"{self._name}: pulse samples must be a 1-D array of >= 2 values")
        if not np.all(np.isfinite(samples)):
            raise LimitError(f"{self._name}: pulse samples contain NaN or inf")
        peak = float(np.max(np.abs(samples)))
        if peak > self._limits.max_pulse_amplitude:
            raise LimitError(
                f"{self._name}: pulse peak {peak:g} V exceeds the bench limit "
                f"max_pulse_amplitude = {self._limits.max_pulse_amplitude:g} V"
            )
        rate = _finite("sample rate", sample_rate, "Sa/s")
        if rate <= 0:
            raise LimitError(f"{self._name}: sample rate must be > 0 Sa/s, got {rate:g}")
        self._instrument.set_arbitrary_pulse(samples, rate)


class BiasSourceGuard(Guard):
    role = roles.BiasSource

    def set_current(self, current: float) -> None:
        current = _finite("bias current", current, "A")
        if abs(current) > self._limits.max_bias_current:
            raise LimitError(
                f"{self._name}: bias current {current:g} A exceeds the bench limit "
                f"max_bias_current = {self._limits.max_bias_current:g} A"
            )
        self._instrument.set_current(current)

    def set_compliance_voltage(self, voltage: float) -> None:
        voltage = _finite("compliance voltage", voltage, "V")
        if voltage <= 0 or voltage > self._limits.max_compliance_voltage:
            raise LimitError(
                f"{self._name}: compliance voltage {voltage:g} V is outside "
                f"(0, {self._limits.max_compliance_voltage:g}] V (bench limit max_compliance_voltage)"
            )
        self._instrument.set_compliance_voltage(voltage)

    def ramp_current(self, target: float, step: float = 1e-4, dwell: float = 0.0) -> None:
        """Walk the current to ``target`` A in steps of at most ``step`` A, ``dwell`` s apart.

        Every intermediate value is checked like ``set_current``; the target is
        checked before the first step, so a refused ramp changes nothing.
        """
        target = _finite("ramp target", target, "A")
        if abs(target) > self._limits.max_bias_current:
            raise LimitError(
                f"{self._name}: ramp target {target:g} A exceeds the bench limit "
                f"max_bias_current = {self._limits.max_bias_current:g} A"
            )
        if not step > 0:
            raise LimitError(f"{self._name}: ramp step must be > 0 A, got {step:g}")
        start = float(self._instrument.get_current())
        n = max(1, math.ceil(abs(target - start) / step))
        for value in np.linspace(start, target, n + 1)[1:]:
            self.set_current(float(value))
            if dwell > 0:
                time.sleep(dwell)


class SpectrumAnalyserGuard(Guard):
    role = roles.SpectrumAnalyser


class FrameSourceGuard(Guard):
    role = roles.FrameSource


GUARDS: dict[str, type[Guard]] = {
    "pulse_generator": PulseGeneratorGuard,
    "spectrum_analyser": SpectrumAnalyserGuard,
    "bias_source": BiasSourceGuard,
    "frame_source": FrameSourceGuard,
}
