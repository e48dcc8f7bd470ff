"""What every twin instrument shares (a call log, shutdown and close), and what twin generators share."""

from __future__ import annotations

from typing import Any

import numpy as np

from hil.errors import InstrumentError


class TwinInstrument:
    """Base of the twins. ``received`` lists (method, args) of every role call."""

    def __init__(self) -> None:
        self.received: list[tuple[str, tuple[Any, ...]]] = []
        self.closed = False

    def _log(self, method: str, *args: Any) -> None:
        if self.closed:
            raise InstrumentError(f"{type(self).__name__} is closed")
        self.received.append((method, args))

    def shutdown(self) -> None:
        """Outputs off; subclasses with outputs extend this."""
        self.received.append(("shutdown", ()))

    def close(self) -> None:
        self.received.append(("close", ()))
        self.closed = True


class GeneratorTwin(TwinInstrument):
    """Base of the PulseGenerator twins: instrument ranges, arm/output state, shutdown.

    Subclasses keep their waveform and say what a trigger drives; the range
    checks run here, before any state changes.
    """

    def __init__(self, max_amplitude: float, max_sample_rate: float) -> None:
        super().__init__()
        self.max_amplitude = float(max_amplitude)
        self.max_sample_rate = float(max_sample_rate)
        self.armed = False
        self.output = False

    def _check_gaussian(self, amplitude: float, width: float, delay: float) -> None:
        self._log("set_gaussian_pulse", amplitude, width, delay)
        if abs(amplitude) > self.max_amplitude or width <= 0 or delay < 0:
            raise ValueError(f"pulse ({amplitude:g} V, {width:g} s, {delay:g} s) outside the instrument's range")

    def _checked_samples(self, samples: np.ndarray, sample_rate: float) -> np.ndarray:
        """A copy of ``samples`` (V) once they fit the instrument's amplitude and sample-rate range."""
        samples = np.asarray(samples, dtype=float).copy()
        self._log("set_arbitrary_pulse", samples, sample_rate)
        if samples.ndim != 1 or samples.size == 0 or not np.all(np.isfinite(samples)):
            raise ValueError("arbitrary waveform must be a non-empty 1-D array of finite volts")
        if np.max(np.abs(samples)) > self.max_amplitude or not 0 < sample_rate <= self.max_sample_rate:
            raise ValueError("arbitrary waveform outside the instrument's amplitude or sample-rate range")
        return samples

    def arm(self) -> None:
        self._log("arm")
        self.armed = True

    def _trigger(self) -> None:
        self._log("trigger")
        if not self.armed:
            raise InstrumentError(f"trigger ignored: the {type(self).__name__} is not armed (call arm() first)")

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
