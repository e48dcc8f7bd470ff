"""The chip's time-resolved readout: a fast power detector per output oscillator into a digitizer.

Wiring (what the twin assumes, and what a lab builds)::

    AWG CH1 ───────────────► chip input line
    AWG sync/marker out ───► digitizer EXT TRIG        (one segment per AWG trigger)
    output oscillator k ───► power detector k ───► digitizer channel k + 1
                             (k = 0 … N_last − 1, the last layer, in order)

The channel table is the lab's wiring/calibration sheet; here it is the
identity above. The detector chain — its response (``detector_bandwidth``)
and its noise (``readout_noise``) — is modelled once, by the chip sample
(:meth:`OscillatorChip.detect`); this twin adds what the digitizer does:
sampling at the configured rate, the detector's output level
(``volts_per_unit``: volts at x = 1, i.e. at the oscillator's full power),
its own input noise, and an ADC of ``bits`` over the configured range.
"""

from __future__ import annotations

import math

import numpy as np

from hil.errors import InstrumentError
from hil.sim.chip.chip import OscillatorChip
from hil.sim.twins.base import TwinInstrument


class ChipDigitizer(TwinInstrument):
    """A multichannel segmented digitizer (Digitizer role) behind the chip's output detectors.

    Segments: every sequence the chip's input AWG triggers while the digitizer
    is armed fills one segment (the chip relays the trigger:
    ``open_capture``/``take_capture``). The physics of all segments runs once,
    batched, when :meth:`fetch` is called — a real digitizer fills its
    segments as the triggers come, with the same result; batching keeps the
    twin as fast as the chip's batched readout, so training through the
    roles costs what training on the twin's internals did. Sequences are
    grouped by their sample rate and padded with zeros (the AWG's output
    after the sequence) up to the capture's length.

    Sampling: the physics gives the detector output after every input step
    (index 0 = the trigger, the chip at rest); at a different digitizer rate
    the samples are interpolated linearly between input steps. At a rate of
    one sample per input step and ``samples = steps + 1`` they are exactly
    the chip's batched readout, then digitized.

    ADC: ``bits`` over ``full_range`` V centred on ``offset`` (codes
    −2^(bits−1) … 2^(bits−1) − 1); a sample beyond full scale saturates at
    the end code, as a real ADC does, and is counted in ``overrange`` (the
    clipping flag a real digitizer raises), never hidden.
    """

    def __init__(self, sample: OscillatorChip, n_channels: int | None = None, volts_per_unit: float = 1.0,
                 bits: int = 12, noise: float = 0.0, max_sample_rate: float = 10.0e9,
                 memory: int = 64 * 2**20, seed: int = 0):
        super().__init__()
        self.sample = sample
        self.n_channels = int(n_channels) if n_channels is not None else sample.hidden[-1]
        if not 1 <= self.n_channels <= sample.hidden[-1]:
            raise ValueError(f"n_channels must be 1..{sample.hidden[-1]} (one detector per output oscillator), "
                             f"got {n_channels}")
        if not volts_per_unit > 0 or not 1 <= bits <= 24 or noise < 0 or not max_sample_rate > 0 or memory < 1:
            raise ValueError("need volts_per_unit > 0, 1 <= bits <= 24, noise >= 0, max_sample_rate > 0, memory >= 1")
        self.volts_per_unit, self.bits, self.noise = float(volts_per_unit), int(bits), float(noise)
        self.max_sample_rate, self.memory = float(max_sample_rate), int(memory)
        self.seed = int(seed)
        self._noise_key: int | None = None  # the chip's program count the noise generator was keyed at
        self.rng: np.random.Generator | None = None  # keyed on (seed, the chip's weights) at the first noisy fetch
        self._setup: tuple | None = None
        self.armed = False
        self.overrange = 0  # samples clipped at full scale in the last fetch

    def configure(self, channels, sample_rate: float, samples: int, segments: int,
                  full_range: float, offset: float = 0.0) -> None:
        self._log("configure", tuple(channels), sample_rate, samples, segments, full_range, offset)
        channels = [int(c) for c in channels]
        bad = [c for c in channels if not 1 <= c <= self.n_channels]
        if bad:
            raise ValueError(f"channels {bad} do not exist; this digitizer has 1..{self.n_channels}")
        if not 0 < sample_rate <= self.max_sample_rate:
            raise ValueError(f"sample rate {sample_rate:g} Sa/s outside (0, {self.max_sample_rate:g}]")
        if samples * segments > self.memory:
            raise ValueError(f"{segments} segments × {samples} samples exceed the memory of {self.memory} points "
                             "per channel; capture fewer segments at a time")
        self._setup = (channels, float(sample_rate), int(samples), int(segments), float(full_range), float(offset))
        self.armed = False

    def arm(self) -> None:
        self._log("arm")
        if self._setup is None:
            raise InstrumentError("ChipDigitizer: arm before configure — set channels, rate and segments first")
        self.sample.open_capture()
        self.armed = True

    def ready(self) -> bool:
        """Every segment of the armed acquisition has had its trigger (what a status register
        reports; twin-side, for the SCPI dialects' run bit)."""
        return self.armed and self._setup is not None and self.sample.triggers_captured() >= self._setup[3]

    def fetch(self) -> tuple[np.ndarray, np.ndarray]:
        self._log("fetch")
        if not self.armed or self._setup is None:
            raise InstrumentError("ChipDigitizer: fetch without an armed acquisition (configure, arm, trigger, fetch)")
        channels, rate, samples, segments, full_range, offset = self._setup
        played = self.sample.take_capture()
        self.armed = False
        if len(played) < segments:
            raise InstrumentError(f"ChipDigitizer: acquisition incomplete, {len(played)} of {segments} segments "
                                  "triggered (timeout); is the AWG's trigger output wired to EXT TRIG?")
        played = played[:segments]  # a segmented acquisition ends at its last segment
        t = np.arange(samples) / rate
        x = np.empty((segments, len(channels), samples))
        outputs = np.asarray(channels) - 1  # the wiring table: channel k + 1 ← output oscillator k
        for dt in sorted({d for _, d in played}):
            idx = [i for i, (_, d) in enumerate(played) if d == dt]
            pos = t / (dt * 1e-9)  # in input steps
            near = np.abs(pos - np.round(pos)) < 1e-9
            pos = np.where(near, np.round(pos), pos)
            steps = max(max(len(played[i][0]) for i in idx), int(math.ceil(pos[-1])), 1)
            u = np.zeros((len(idx), steps, self.sample.n_in))
            for row, i in enumerate(idx):
                u[row, :len(played[i][0])] = played[i][0]
            trace = self.sample.measure_played(u, dt)[:, :, outputs]  # (b, steps + 1, channels)
            j0 = np.clip(np.floor(pos).astype(int), 0, steps - 1)
            w = (pos - j0)[None, :, None]
            if samples == steps + 1 and not w.any():  # one sample per input step: the trace itself
                sampled = trace
            else:
                sampled = trace[:, j0] * (1.0 - w) + trace[:, j0 + 1] * w
            x[idx] = sampled.transpose(0, 2, 1)
        volts = self.volts_per_unit * x
        if self.noise > 0:
            if self._noise_key != self.sample.programs:  # programmed again: noise keyed on the weights (as the chip's)
                self._noise_key = self.sample.programs
                self.rng = np.random.default_rng([self.seed, self.sample.program_key])
            volts = volts + self.noise * self.rng.standard_normal(volts.shape)
        return t, self._adc(volts, full_range, offset)

    def _adc(self, volts: np.ndarray, full_range: float, offset: float) -> np.ndarray:
        lsb = full_range / 2**self.bits
        lo, hi = -(2 ** (self.bits - 1)), 2 ** (self.bits - 1) - 1
        codes = np.round((volts - offset) / lsb)
        self.overrange = int(np.count_nonzero((codes < lo) | (codes > hi)))
        return offset + np.clip(codes, lo, hi) * lsb

    def shutdown(self) -> None:
        super().shutdown()
        if self.armed:
            self.sample.take_capture()
        self.armed = False
