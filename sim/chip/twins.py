"""The instruments around the chip: an AWG on its input line and a source on its bias rail.

The spectrum analyser is the stock :class:`sim.twins.SimSpectrumAnalyser`
with the chip as its sample; these two complete a chip bench.
"""

from __future__ import annotations

import numpy as np

from hil.errors import InstrumentError
from sim.chip.chip import OscillatorChip
from sim.twins.base import TwinInstrument
from sim.twins.bias import CurrentSourceTwin


class ChipInputAWG(TwinInstrument):
    """An arbitrary waveform generator (PulseGenerator role) feeding the chip's input line.

    One sample per input step: a sequence uploaded at ``sample_rate`` Sa/s
    holds each value for 1/sample_rate s. ``units_per_volt`` converts volts
    into the input line's drive units. On trigger the chip resets to rest and
    starts playing the sequence (time zero = trigger).
    """

    def __init__(self, sample: OscillatorChip, units_per_volt: float = 1.0, max_amplitude: float = 5.0,
                 max_sample_rate: float = 12.0e9):
        super().__init__()
        self.sample = sample
        self.units_per_volt = float(units_per_volt)
        self.max_amplitude, self.max_sample_rate = float(max_amplitude), float(max_sample_rate)
        self._samples = np.zeros(1)
        self._rate = 1.0e9
        self.armed = False
        self.output = False

    def set_gaussian_pulse(self, amplitude: float, width: float, delay: float) -> None:
        self._log("set_gaussian_pulse", amplitude, width, delay)
        if abs(amplitude) > self.max_amplitude or width <= 0 or delay < 0:
            raise ValueError(f"pulse ({amplitude:g} V, {width:g} s, {delay:g} s) outside the instrument's range")
        rate = self.max_sample_rate
        t = np.arange(int(np.ceil((delay + 5 * width) * rate)) + 1) / rate
        self._samples, self._rate = amplitude * np.exp(-((t - delay) ** 2) / (2 * width**2)), rate

    def set_arbitrary_pulse(self, samples: np.ndarray, sample_rate: float) -> None:
        samples = np.asarray(samples, dtype=float).copy()
        self._log("set_arbitrary_pulse", samples, sample_rate)
        if samples.ndim != 1 or not np.all(np.isfinite(samples)):
            raise ValueError("arbitrary waveform must be a 1-D array of finite volts")
        if np.max(np.abs(samples)) > self.max_amplitude or not 0 < sample_rate <= self.max_sample_rate:
            raise ValueError("arbitrary waveform outside the instrument's amplitude or sample-rate range")
        self._samples, self._rate = samples, float(sample_rate)

    def arm(self) -> None:
        self._log("arm")
        self.armed = True

    def trigger(self) -> None:
        self._log("trigger")
        if not self.armed:
            raise InstrumentError("trigger ignored: the AWG is not armed (call arm first)")
        volts = self._samples if self.output else np.zeros_like(self._samples)
        self.sample.start(volts * self.units_per_volt, dt=1e9 / self._rate)

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
