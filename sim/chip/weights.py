"""The chip's weights: a bank of DAC channels behind the lab's calibration sheet (Weights role)."""

from __future__ import annotations

import time

import numpy as np

from hil.instruments.dacs import WEIGHT_KINDS, parameter_count, weight_shapes
from hil.sim.chip.chip import OscillatorChip
from hil.sim.twins.base import TwinInstrument


class ChipWeights(TwinInstrument):
    """Sets the chip's couplings and biases as a multichannel DAC would (Weights role).

    One DAC channel per parameter. The calibration a lab measures and writes
    on its calibration sheet — which channel drives which coupling or bias,
    and how many volts make one unit — is applied inside the twin, so the
    role speaks calibrated values: couplings are dimensionless gains, biases
    drive rates in 1/s (the chip's own unit, 1/ns, times 1e9).

    Range and resolution: each kind spans ±``weight_range`` (couplings) or
    ±``bias_range`` 1/s (biases) with a bipolar DAC of ``bits``: codes
    −2^(bits−1) … 2^(bits−1) − 1, resolution = 2·range / 2^bits. Zero is a
    code, so a pruned connection stays exactly off. A value outside the span
    is refused (ValueError; the bench's guard refuses it first); a value
    inside is rounded to the nearest code — the DAC's quantisation.

    Settling: new values are staged by ``set_weights`` and reach the chip at
    ``settle``, which first waits out ``settling_time`` s since the last set.
    A protocol that forgets to settle measures the old weights — as a trigger
    during a real DAC's settling would measure neither set.
    """

    def __init__(self, sample: OscillatorChip, weight_range: float = 16.0, bias_range: float = 8.0e9,
                 bits: int = 16, settling_time: float = 0.0, dac_channels=None, volts_per_unit=1.0):
        super().__init__()
        if not weight_range > 0 or not bias_range > 0 or not 2 <= bits <= 32 or settling_time < 0:
            raise ValueError("need weight_range > 0, bias_range > 0 (1/s), 2 <= bits <= 32, settling_time >= 0 s")
        self.sample = sample
        self.bits, self.settling_time = int(bits), float(settling_time)
        self._shapes = weight_shapes(sample.hidden, sample.n_in)
        self._ranges = {kind: self._span(r) for kind, r in
                        (("w_ext", weight_range), ("w_int", weight_range), ("bias", bias_range))}
        self._set = {kind: [np.zeros(s) for s in shapes] for kind, shapes in self._shapes.items()}
        self._pending: dict[str, list[np.ndarray]] | None = None
        self._set_at = time.monotonic()
        n = parameter_count(self._shapes)
        self._channels = list(range(1, n + 1)) if dac_channels is None else [int(c) for c in dac_channels]
        vpu = volts_per_unit if isinstance(volts_per_unit, dict) else {k: volts_per_unit for k in WEIGHT_KINDS}
        if len(self._channels) != n or len(set(self._channels)) != n or set(vpu) != set(WEIGHT_KINDS) \
                or not all(float(v) > 0 for v in vpu.values()):
            raise ValueError(f"dac_channels: one distinct channel per parameter ({n}); volts_per_unit > 0 per kind")
        self._vpu = {k: float(v) for k, v in vpu.items()}

    def dac_calibration(self) -> tuple[list[int], dict[str, float]]:
        """The wiring sheet a DAC in front of this chip follows: the channel of each parameter
        (w_ext, w_int, bias; layer by layer, row-major) and volts per unit of each kind. Twin-side:
        the SCPI dialect of a DAC (``hil twins serve``) turns channel voltages into weights with it."""
        return list(self._channels), dict(self._vpu)

    def _span(self, full: float) -> tuple[float, float, float]:
        step = 2.0 * float(full) / 2**self.bits
        return (-(2 ** (self.bits - 1)) * step, (2 ** (self.bits - 1) - 1) * step, step)

    @property
    def shapes(self) -> dict[str, tuple[tuple[int, ...], ...]]:
        return dict(self._shapes)

    @property
    def ranges(self) -> dict[str, tuple[float, float, float]]:
        return dict(self._ranges)

    def set_weights(self, weights) -> None:
        self._log("set_weights")
        staged: dict[str, list[np.ndarray]] = {}
        for kind in WEIGHT_KINDS:
            low, high, step = self._ranges[kind]
            arrays = [np.asarray(a, dtype=float) for a in weights[kind]]
            if [a.shape for a in arrays] != list(self._shapes[kind]):
                raise ValueError(f"{kind}: shapes {[a.shape for a in arrays]}, this chip needs {list(self._shapes[kind])}")
            for layer, a in enumerate(arrays):
                if not np.all(np.isfinite(a)) or a.min() < low or a.max() > high:
                    raise ValueError(f"{kind}[{layer}] outside the DAC span [{low:g}, {high:g}] or not finite")
            staged[kind] = [np.round(a / step) * step for a in arrays]
        self._pending, self._set_at = staged, time.monotonic()

    def get_weights(self) -> dict[str, list[np.ndarray]]:
        self._log("get_weights")
        now = self._pending if self._pending is not None else self._set
        return {kind: [a.copy() for a in arrays] for kind, arrays in now.items()}

    def settle(self) -> None:
        self._log("settle")
        wait = self._set_at + self.settling_time - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        if self._pending is not None:
            prog = dict(self._pending, bias=[b * 1e-9 for b in self._pending["bias"]])  # 1/s → the chip's 1/ns
            self.sample.program(prog)
            self._set, self._pending = self._pending, None

    def shutdown(self) -> None:
        """Outputs to zero: every coupling off, no bias (the chip's safe, unprogrammed state)."""
        super().shutdown()
        self._pending = None
        self._set = {kind: [np.zeros(s) for s in shapes] for kind, shapes in self._shapes.items()}
        self.sample.program(None)
