"""The instruments around the chip: an AWG on its input line and a source on its bias rail.

The spectrum analyser is the stock :class:`hil.sim.twins.SimSpectrumAnalyser`
with the chip as its sample; the digitizer behind the output detectors
(:mod:`hil.sim.chip.digitizer`) and the weight DACs (:mod:`hil.sim.chip.weights`)
complete a chip bench.
"""

from __future__ import annotations

import numpy as np

from hil.sim.chip.chip import OscillatorChip
from hil.sim.twins.base import GeneratorTwin
from hil.sim.twins.bias import CurrentSourceTwin


class ChipInputAWG(GeneratorTwin):
    """An arbitrary waveform generator (PulseGenerator role) feeding the chip's input line.

    One sample per input step: a sequence uploaded at ``sample_rate`` Sa/s
    holds each value for 1/sample_rate s. ``units_per_volt`` converts volts
    into the input line's drive units. On trigger the chip resets to rest and
    starts playing the sequence (time zero = trigger); the trigger also goes
    out to an armed :class:`ChipDigitizer` (one segment per trigger), so a
    batch of sequences is played as one upload and one trigger each, with no
    sequencer needed in the PulseGenerator role.
    """

    def __init__(self, sample: OscillatorChip, units_per_volt: float = 1.0, max_amplitude: float = 5.0,
                 max_sample_rate: float = 12.0e9):
        super().__init__(max_amplitude, max_sample_rate)
        self.sample = sample
        self.units_per_volt = float(units_per_volt)
        self._samples = np.zeros(1)
        self._rate = 1.0e9

    def set_gaussian_pulse(self, amplitude: float, width: float, delay: float) -> None:
        self._check_gaussian(amplitude, width, delay)
        rate = self.max_sample_rate
        t = np.arange(int(np.ceil((delay + 5 * width) * rate)) + 1) / rate
        self._samples, self._rate = amplitude * np.exp(-((t - delay) ** 2) / (2 * width**2)), rate

    def set_arbitrary_pulse(self, samples: np.ndarray, sample_rate: float) -> None:
        self._samples, self._rate = self._checked_samples(samples, sample_rate), float(sample_rate)

    def trigger(self) -> None:
        self._trigger()
        volts = self._samples if self.output else np.zeros_like(self._samples)
        self.sample.start(volts * self.units_per_volt, dt=1e9 / self._rate)


class ChipBiasSource(CurrentSourceTwin):
    """A DC source (BiasSource role) on the chip's bias rail reference input.

    Quantises the setpoint to ``resolution`` A (as a real source's DAC does),
    refuses out-of-range values, limits the delivered current at compliance.
    """

    def __init__(self, sample: OscillatorChip, max_current: float = 0.105, resolution: float = 1e-6,
                 compliance_voltage: float = 10.0):
        super().__init__(max_current, resolution, compliance_voltage)
        self.sample = sample

    def _resistance(self) -> float:
        return self.sample.rail_resistance()

    def _drive(self, current: float) -> None:
        self.sample.set_rail_current(current)
