"""Small role objects that record every call, for exercising the SCPI layer without physics.

They are honest stand-ins, not twins: each keeps the last settings it was
given and answers from them by a stated rule (an analyser line computed on
the configured axis, a bias source into a fixed resistor). Tests and the
round-trip benchmark serve them; the bench's physics twins live in ``hil.sim.twins``.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def _record(self, name: str, *args: Any) -> None:
        self.calls.append((name, args))

    def names(self) -> list[str]:
        """Method names called, in order."""
        return [name for name, _ in self.calls]

    def shutdown(self) -> None:
        self._record("shutdown")

    def close(self) -> None:
        self._record("close")


class RecordingPulseGenerator(_Recorder):
    """Keeps the uploaded waveform; each trigger while armed appends (samples V, rate Sa/s) to ``fired``."""

    def __init__(self) -> None:
        super().__init__()
        self.samples: np.ndarray | None = None
        self.sample_rate: float | None = None
        self.armed = False
        self.output = False
        self.fired: list[tuple[np.ndarray, float]] = []

    def set_gaussian_pulse(self, amplitude: float, width: float, delay: float) -> None:
        self._record("set_gaussian_pulse", amplitude, width, delay)
        rate = 20.0 / width
        t = np.arange(int((delay + 5 * width) * rate) + 1) / rate
        self.samples, self.sample_rate = amplitude * np.exp(-0.5 * ((t - delay) / width) ** 2), rate

    def set_arbitrary_pulse(self, samples: np.ndarray, sample_rate: float) -> None:
        self._record("set_arbitrary_pulse", np.array(samples, dtype=float), float(sample_rate))
        self.samples, self.sample_rate = np.array(samples, dtype=float), float(sample_rate)

    def arm(self) -> None:
        self._record("arm")
        self.armed = True

    def trigger(self) -> None:
        self._record("trigger")
        if self.armed and self.samples is not None:
            self.fired.append((self.samples, self.sample_rate))

    def output_on(self) -> None:
        self._record("output_on")
        self.output = True

    def output_off(self) -> None:
        self._record("output_off")
        self.output = False


class RecordingSpectrumAnalyser(_Recorder):
    """A Lorentzian line of ``line_power`` dBm at ``line_frequency`` over a −90 dBm floor,
    evaluated on whatever axis was configured; zero span sees the power at the tuned frequency."""

    def __init__(self, line_frequency: float = 5e9, line_power: float = -40.0, linewidth: float = 5e6):
        super().__init__()
        self.line_frequency, self.line_power, self.linewidth = line_frequency, line_power, linewidth
        self.settings: tuple[float, float, float, float, int] | None = None

    def _power(self, frequency: np.ndarray) -> np.ndarray:
        detuning = (frequency - self.line_frequency) / (self.linewidth / 2)
        line = 10 ** (self.line_power / 10) / (1 + detuning**2)
        return 10 * np.log10(line + 1e-9)  # 1e-9 mW = −90 dBm floor

    def configure_sweep(self, centre: float, span: float, rbw: float, vbw: float, points: int) -> None:
        self._record("configure_sweep", centre, span, rbw, vbw, points)
        self.settings = (centre, span, rbw, vbw, points)

    def sweep(self) -> tuple[np.ndarray, np.ndarray]:
        self._record("sweep")
        if self.settings is None:
            raise RuntimeError("sweep before configure_sweep")
        centre, span, _, _, points = self.settings
        frequency = np.linspace(centre - span / 2, centre + span / 2, points)
        return frequency, self._power(frequency)

    def zero_span(self, frequency: float, rbw: float, sweep_time: float, points: int) -> tuple[np.ndarray, np.ndarray]:
        self._record("zero_span", frequency, rbw, sweep_time, points)
        return np.linspace(0.0, sweep_time, points), np.full(points, float(self._power(np.array(frequency))))


class RecordingBiasSource(_Recorder):
    """A current source into ``resistance`` ohm: V = R·I with the output on, limited by the compliance."""

    def __init__(self, resistance: float = 100.0, max_current: float | None = None):
        super().__init__()
        self.resistance, self.max_current = resistance, max_current
        self.current, self.compliance, self.output = 0.0, 10.0, False

    def set_current(self, current: float) -> None:
        self._record("set_current", current)
        if self.max_current is not None and abs(current) > self.max_current:
            raise ValueError(f"{current} A exceeds this source's {self.max_current} A")
        self.current = float(current)

    def get_current(self) -> float:
        self._record("get_current")
        return self.current

    def set_compliance_voltage(self, voltage: float) -> None:
        self._record("set_compliance_voltage", voltage)
        self.compliance = float(voltage)

    def measure_voltage(self) -> float:
        self._record("measure_voltage")
        if not self.output:
            return 0.0
        return float(np.clip(self.resistance * self.current, -self.compliance, self.compliance))

    def output_on(self) -> None:
        self._record("output_on")
        self.output = True

    def output_off(self) -> None:
        self._record("output_off")
        self.output = False
