"""A pulse generator whose output drives a coil over a field-driven sample.

The coil calibration turns volts into tesla: B(t) = k·V(t)·e_B with k in T/V
and e_B at polar angle θ, azimuth φ. On trigger the sample restarts from its
initial state with that B(t), time zero being the trigger.
"""

from __future__ import annotations

import math

import numpy as np

from hil.errors import InstrumentError
from hil.roles import FieldDrivenSample
from sim.twins.base import TwinInstrument


def field_direction(theta_deg: float, phi_deg: float) -> np.ndarray:
    """Unit vector at polar angle θ and azimuth φ (degrees)."""
    t, p = math.radians(theta_deg), math.radians(phi_deg)
    return np.array([math.sin(t) * math.cos(p), math.sin(t) * math.sin(p), math.cos(t)])


class SimPulseGenerator(TwinInstrument):
    """Fires one pulse per trigger into the coil over ``sample``.

    Instrument ranges as an 81160A-class ARB: |V| ≤ ``max_amplitude`` V,
    sample rate ≤ ``max_sample_rate`` Sa/s.
    """

    def __init__(
        self,
        sample: FieldDrivenSample,
        tesla_per_volt: float = 0.4,
        theta_deg: float = 40.0,
        phi_deg: float = 0.0,
        max_amplitude: float = 10.0,
        max_sample_rate: float = 2.5e9,
    ):
        super().__init__()
        self.sample = sample
        self.tesla_per_volt = float(tesla_per_volt)
        self.direction = field_direction(theta_deg, phi_deg)
        self.max_amplitude = max_amplitude
        self.max_sample_rate = max_sample_rate
        self._waveform = lambda t: 0.0
        self._waveform_many = None  # vectorised form of an arbitrary waveform
        self.armed = False
        self.output = False
        self.fired = 0

    def voltage(self, t: float) -> float:
        """Output voltage (V) at ``t`` s after the trigger, as the instrument would drive it."""
        return float(self._waveform(t)) if self.output else 0.0

    def field(self, t: float) -> np.ndarray:
        """Coil field (T, vector) at ``t`` s after the trigger."""
        return self.tesla_per_volt * self.voltage(t) * self.direction

    def set_gaussian_pulse(self, amplitude: float, width: float, delay: float) -> None:
        self._log("set_gaussian_pulse", amplitude, width, delay)
        if abs(amplitude) > self.max_amplitude or width <= 0 or delay < 0:
            raise ValueError(f"pulse ({amplitude:g} V, {width:g} s, {delay:g} s) outside the instrument's range")
        self._waveform = lambda t: amplitude * math.exp(-((t - delay) ** 2) / (2 * width**2))
        self._waveform_many = None

    def set_arbitrary_pulse(self, samples: np.ndarray, sample_rate: float) -> None:
        samples = np.asarray(samples, dtype=float).copy()
        self._log("set_arbitrary_pulse", samples, sample_rate)
        if np.max(np.abs(samples)) > self.max_amplitude or not 0 < sample_rate <= self.max_sample_rate:
            raise ValueError("arbitrary pulse outside the instrument's amplitude or sample-rate range")
        times = np.arange(len(samples)) / sample_rate

        def waveform(t: float) -> float:
            return float(np.interp(t, times, samples, left=0.0, right=0.0))

        self._waveform = waveform
        self._waveform_many = lambda ts: np.interp(ts, times, samples, left=0.0, right=0.0)

    def arm(self) -> None:
        self._log("arm")
        self.armed = True

    def trigger(self) -> None:
        self._log("trigger")
        if not self.armed:
            raise InstrumentError("trigger ignored: the pulse generator is not armed (call arm() first)")
        self.fired += 1
        self.sample.start(_CoilField(self))

    def output_on(self) -> None:
        self._log("output_on")
        self.output = True

    def output_off(self) -> None:
        self._log("output_off")
        self.output = False

    def shutdown(self) -> None:
        super().shutdown()
        self.output = False
        self.armed = False


class _CoilField:
    """The coil field of ``generator`` as the sample sees it: B(t), and B at many
    times at once (``many``, for sampled waveforms), so long arbitrary traces do
    not call Python once per LLG step."""

    def __init__(self, generator: SimPulseGenerator):
        self.generator = generator

    def __call__(self, t: float) -> np.ndarray:
        return self.generator.field(t)

    def many(self, times: np.ndarray) -> np.ndarray:
        g = self.generator
        if g._waveform_many is None:
            return np.stack([g.field(float(t)) for t in times])
        volts = g._waveform_many(np.asarray(times, dtype=float)) if g.output else np.zeros(len(times))
        return g.tesla_per_volt * volts[:, None] * g.direction[None, :]
