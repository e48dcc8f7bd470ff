"""A pulse generator whose output drives a coil over a field-driven sample.

The coil calibration turns volts into tesla: B(t) = k·V(t)·e_B with k in T/V
and e_B at polar angle θ, azimuth φ. On trigger the sample restarts from its
initial state with that B(t), time zero being the trigger.
"""

from __future__ import annotations

import math

import numpy as np

from hil.instruments import KEYSIGHT_81160A
from hil.roles import FieldDrivenSample
from hil.sim.twins.base import GeneratorTwin


def field_direction(theta_deg: float, phi_deg: float) -> np.ndarray:
    """Unit vector at polar angle θ and azimuth φ (degrees)."""
    t, p = math.radians(theta_deg), math.radians(phi_deg)
    return np.array([math.sin(t) * math.cos(p), math.sin(t) * math.sin(p), math.cos(t)])


class SimPulseGenerator(GeneratorTwin):
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
        max_sample_rate: float = KEYSIGHT_81160A.dac_rate,
    ):
        super().__init__(max_amplitude, max_sample_rate)
        self.sample = sample
        self.tesla_per_volt = float(tesla_per_volt)
        self.direction = field_direction(theta_deg, phi_deg)
        self._waveform = lambda t: 0.0
        self._waveform_many = None  # vectorised form of an arbitrary waveform
        self.fired = 0

    def voltage(self, t: float) -> float:
        """Output voltage (V) at ``t`` s after the trigger, as the instrument would drive it."""
        return float(self._waveform(t)) if self.output else 0.0

    def field(self, t: float) -> np.ndarray:
        """Coil field (T, vector) at ``t`` s after the trigger."""
        return self.tesla_per_volt * self.voltage(t) * self.direction

    def set_gaussian_pulse(self, amplitude: float, width: float, delay: float) -> None:
        self._check_gaussian(amplitude, width, delay)
        self._waveform = lambda t: amplitude * math.exp(-((t - delay) ** 2) / (2 * width**2))
        self._waveform_many = None

    def set_arbitrary_pulse(self, samples: np.ndarray, sample_rate: float) -> None:
        samples = self._checked_samples(samples, sample_rate)
        times = np.arange(len(samples)) / sample_rate

        def waveform(t: float) -> float:
            return float(np.interp(t, times, samples, left=0.0, right=0.0))

        self._waveform = waveform
        self._waveform_many = lambda ts: np.interp(ts, times, samples, left=0.0, right=0.0)

    def trigger(self) -> None:
        self._trigger()
        self.fired += 1
        self.sample.start(_CoilField(self))


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
