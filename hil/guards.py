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
    """The role's methods, plus the voltage-source and Delta methods of the bias sources that have
    them (Keithley 2400 with ``source = "voltage"``, Keithley 6221 + 2182A), under the same limits."""

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

    # -- what some bias sources add (a 2400 sourcing voltage, a 6221's Delta mode): forwarded only
    # -- where the instrument has it, under the same limits — the volts on the sample within
    # -- max_compliance_voltage, the current through it within max_bias_current.

    def _optional(self, name: str) -> Any:
        method = getattr(self._instrument, name, None)
        if not callable(method):
            raise AttributeError(f"{self._name}: {type(self._instrument).__name__} has no {name!r} "
                                 "(a voltage-source or Delta method this bias source does not offer)")
        return method

    def set_voltage(self, voltage: float) -> None:
        """A voltage-source bias (Keithley 2400, ``source = "voltage"``): |voltage| ≤ max_compliance_voltage."""
        method = self._optional("set_voltage")
        voltage = _finite("bias voltage", voltage, "V")
        if abs(voltage) > self._limits.max_compliance_voltage:
            raise LimitError(
                f"{self._name}: bias voltage {voltage:g} V exceeds the bench limit "
                f"max_compliance_voltage = {self._limits.max_compliance_voltage:g} V"
            )
        method(voltage)

    def set_compliance_current(self, current: float) -> None:
        """The voltage source's current compliance: within (0, max_bias_current]."""
        method = self._optional("set_compliance_current")
        current = _finite("compliance current", current, "A")
        if current <= 0 or current > self._limits.max_bias_current:
            raise LimitError(
                f"{self._name}: compliance current {current:g} A is outside "
                f"(0, {self._limits.max_bias_current:g}] A (bench limit max_bias_current)"
            )
        method(current)

    def measure_current(self) -> float:
        return self._optional("measure_current")()

    def compliance_tripped(self) -> bool:
        return self._optional("compliance_tripped")()

    def delta_configure(self, high_current_a: float, low_current_a: float | None = None, **options: Any) -> None:
        """Delta mode (Keithley 6221 + 2182A): both currents within max_bias_current."""
        method = self._optional("delta_configure")
        high = _finite("Delta high current", high_current_a, "A")
        low = -high if low_current_a is None else _finite("Delta low current", low_current_a, "A")
        for name, value in (("Delta high current", high), ("Delta low current", low)):
            if abs(value) > self._limits.max_bias_current:
                raise LimitError(
                    f"{self._name}: {name} {value:g} A exceeds the bench limit "
                    f"max_bias_current = {self._limits.max_bias_current:g} A"
                )
        method(high, low, **options)

    def delta_start(self) -> None:
        self._optional("delta_start")()

    def delta_read(self, *args: Any, **kwargs: Any) -> Any:
        return self._optional("delta_read")(*args, **kwargs)

    def delta_abort(self) -> None:
        self._optional("delta_abort")()


class SpectrumAnalyserGuard(Guard):
    role = roles.SpectrumAnalyser


class FrameSourceGuard(Guard):
    role = roles.FrameSource


def _count(name: str, value: Any, what: str, low: int = 1) -> int:
    """An integer >= ``low`` (a float with no fraction is accepted), else LimitError."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer, float, np.floating)) \
            or not math.isfinite(value) or value != int(value) or int(value) < low:
        raise LimitError(f"{name}: {what} must be a whole number >= {low}, got {value!r}")
    return int(value)


class DigitizerGuard(Guard):
    """Checks an acquisition's set-up is well formed before the digitizer sees it.

    What the instrument can do (its channel count, maximum rate, memory) is
    the instrument's to refuse; the guard refuses what no digitizer could do.
    """

    role = roles.Digitizer

    def configure(self, channels, sample_rate: float, samples: int, segments: int,
                  full_range: float, offset: float = 0.0) -> None:
        chans = [_count(self._name, c, "a channel number") for c in np.atleast_1d(np.asarray(channels, dtype=object))]
        if not chans:
            raise LimitError(f"{self._name}: no channels to acquire")
        if len(set(chans)) != len(chans):
            raise LimitError(f"{self._name}: channels repeat: {chans}")
        rate = _finite("sample rate", sample_rate, "Sa/s")
        if rate <= 0:
            raise LimitError(f"{self._name}: sample rate must be > 0 Sa/s, got {rate:g}")
        samples = _count(self._name, samples, "samples per segment")
        segments = _count(self._name, segments, "segments")
        full_range = _finite("vertical range", full_range, "V")
        if full_range <= 0:
            raise LimitError(f"{self._name}: vertical range must be > 0 V, got {full_range:g}")
        offset = _finite("vertical offset", offset, "V")
        self._instrument.configure(chans, rate, samples, segments, full_range, offset)


class WeightsGuard(Guard):
    """Refuses weights of the wrong kinds or shapes, NaN, or outside the instrument's range.

    The range is the instrument's own (its DAC's span, through the
    calibration), read from ``ranges``; nothing is clipped: one value out of
    range refuses the whole set, and the instrument never sees it.
    """

    role = roles.Weights

    def set_weights(self, weights) -> None:
        shapes, ranges = self._instrument.shapes, self._instrument.ranges
        if not hasattr(weights, "keys"):
            raise LimitError(f"{self._name}: weights must be a mapping of kind -> list of arrays, "
                             f"kinds {', '.join(shapes)}")
        problems = [f"unknown kind {k!r}" for k in weights if k not in shapes]
        problems += [f"{k} missing" for k in shapes if k not in weights]
        checked: dict[str, list[np.ndarray]] = {}
        for kind, want in shapes.items():
            if kind not in weights:
                continue
            arrays = list(weights[kind])
            if len(arrays) != len(want):
                problems.append(f"{kind}: {len(arrays)} arrays, this chip has {len(want)} layers")
                continue
            low, high, _ = ranges[kind]
            checked[kind] = []
            for layer, (a, shape) in enumerate(zip(arrays, want)):
                a = np.array(a, dtype=float)
                where = f"{kind}[{layer}]"
                if a.shape != tuple(shape):
                    problems.append(f"{where} has shape {a.shape}, the chip needs {tuple(shape)}")
                elif not np.all(np.isfinite(a)):
                    problems.append(f"{where} contains NaN or inf")
                elif a.size and (a.min() < low or a.max() > high):
                    problems.append(f"{where} spans [{a.min():.6g}, {a.max():.6g}], outside the range "
                                    f"[{low:.6g}, {high:.6g}]")
                checked[kind].append(a)
        if problems:
            raise LimitError(f"{self._name}: weights refused, nothing was set (never clipped): " + "; ".join(problems))
        self._instrument.set_weights(checked)


GUARDS: dict[str, type[Guard]] = {
    "pulse_generator": PulseGeneratorGuard,
    "spectrum_analyser": SpectrumAnalyserGuard,
    "bias_source": BiasSourceGuard,
    "frame_source": FrameSourceGuard,
    "digitizer": DigitizerGuard,
    "weights": WeightsGuard,
}
