"""What the two waveform-generator dialects share: per-output settings, level checks, and
playing the triggered waveform on the twin.

The twin is wired to output 1. On ``*TRG`` in single-shot bus-triggered
mode the dialect turns its settings into volts at a sample rate — the
instrument's own arithmetic: offset + amplitude/2 · normalised point,
the trigger delay as idle samples in front, the burst count as repeats,
an inverted output (``OUTP1:POL INV``) mirrored about its offset —
and calls ``twin.set_arbitrary_pulse`` (only when the waveform changed),
``twin.arm`` (after an upload) and ``twin.trigger``. Output 2 keeps its
settings and drives nothing.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from hil.instruments.generators import GeneratorSpec, level_scale
from hil.roles import PulseGenerator
from hil.sim.scpi.dialect import Call, Dialect, format_number
from hil.sim.scpi.errors import ScpiError

#: The twin gets at most this many samples per pulse (32 MiB of float64).
MAX_TWIN_SAMPLES = 1 << 22


def polarity_sign(output: Any) -> float:
    """−1 for an inverted output (``OUTPut<n>:POLarity INVerted``), else +1.

    The instrument then plays offset − amplitude/2·point: the 33500B inverts
    "relative to the offset voltage" (its SDL command description, cited in
    :data:`hil.instruments.KEYSIGHT_33500B`); the 81160A twin does the same,
    its own reference level being unsettled (the driver plays an inverted
    pulse at offset 0, where both readings agree).
    """
    return -1.0 if getattr(output, "polarity", "NORM") == "INV" else 1.0


def playback(samples: np.ndarray, rate: float, delay: float, cycles: int) -> np.ndarray:
    """Volts from the trigger on: ``delay`` of the first point's level, then ``cycles`` repeats."""
    lead = int(round(delay * rate))
    total = lead + samples.size * cycles
    if total > MAX_TWIN_SAMPLES:
        raise ScpiError(-221, f"delay and burst need {total} samples at {rate:.3g} Sa/s; the twin holds "
                              f"{MAX_TWIN_SAMPLES}")
    return np.concatenate([np.full(lead, samples[0]), np.tile(samples, cycles)])


class GeneratorDialect(Dialect):
    """Base of the arbitrary-generator dialects; subclasses define outputs, table and waveform decoding."""

    role = PulseGenerator
    spec: ClassVar[GeneratorSpec]
    channel_word = "output"
    CHANNELS: tuple[int, ...] = (1, 2)
    TWIN_CHANNEL = 1

    def new_output(self) -> Any:
        raise NotImplementedError

    def triggered(self, output: Any) -> bool:
        """Whether ``*TRG`` fires ``output`` (single-shot bus trigger armed)."""
        raise NotImplementedError

    def waveform(self, output: Any) -> tuple[np.ndarray, float]:
        """The uploaded waveform of ``output`` in volts and its sample rate (raise -221 when none)."""
        raise NotImplementedError

    def reset(self) -> None:
        self.channels = {n: self.new_output() for n in self.CHANNELS}
        self._played: tuple[np.ndarray, float] | None = None
        self._armed = False
        self.sync_twin(self.twin.output_off)

    # -- hooks of the table -----------------------------------------------------

    def check_levels(self, output: Any, attr: str, value: float) -> None:
        """The limits of the load setting: the 50 Ω ones times 2R/(R+50) (×2 at High-Z)."""
        amplitude = value if attr == "amplitude" else output.amplitude
        offset = value if attr == "offset" else output.offset
        self.check_pair(output, amplitude, offset, attr == "amplitude")

    def check_pair(self, output: Any, amplitude: float, offset: float, new_amplitude: bool = True) -> None:
        scale = level_scale(getattr(output, "load", 50.0))
        low, high = (scale * v for v in self.spec.amplitude)
        if new_amplitude and not low - 1e-12 <= amplitude <= high + 1e-12:
            raise ScpiError(-222, f"amplitude {amplitude:g} Vpp outside [{low:g}, {high:g}] Vpp at this load setting")
        limit = self.spec.max_level * scale  # V, |offset| + amplitude/2
        if abs(offset) + amplitude / 2 > limit + 1e-12:
            raise ScpiError(-221, f"|offset| + amplitude/2 = {abs(offset) + amplitude / 2:g} V exceeds "
                                  f"{limit:g} V at this load setting")

    def load_handler(self, call: Call) -> str | None:
        """``OUTPut<n>:LOAD <ohms>|INFinity|MIN|MAX``; the query answers 9.9E+37 for INF, as the instrument."""
        output = self.target(call, "channel")
        low, high = self.spec.load
        if call.query:
            if call.args:
                call.count(1)
                return format_number(low if call.word(0, ("MINimum", "MAXimum")) == "MIN" else high)
            call.count(0)
            return "9.9E+37" if math.isinf(output.load) else format_number(output.load)
        call.count(1)
        word = (call.text(0) or "").upper()
        if word in ("INF", "INFINITY"):
            value = math.inf
        else:
            value = call.number(0, "OHM", (low, high))
            if not low <= value <= high:
                raise ScpiError(-222, f"load {value:g} Ohm outside [{low:g}, {high:g}] Ohm (or INF)")
        old = output.load
        output.load = value
        # the displayed levels follow the load setting; the EMF does not change
        factor = level_scale(value) / level_scale(old)
        output.amplitude *= factor
        output.offset *= factor
        return None

    def apply_output(self, call: Call, output: Any, on: bool) -> None:
        if output is self.channels[self.TWIN_CHANNEL]:
            self.call_twin(self.twin.output_on if on else self.twin.output_off)

    # -- *TRG -------------------------------------------------------------------

    def bus_trigger(self) -> None:
        output = self.channels[self.TWIN_CHANNEL]
        if not self.triggered(output):
            raise ScpiError(-211, "output 1 is not armed for a bus trigger")
        samples, rate = self.waveform(output)
        played = playback(samples, rate, output.delay, output.cycles)
        if self._played is None or self._played[1] != rate or not np.array_equal(self._played[0], played):
            self.call_twin(self.twin.set_arbitrary_pulse, played, rate)
            self._played = (played, rate)
            self._armed = False
        if not self._armed:
            self.call_twin(self.twin.arm)
            self._armed = True
        self.call_twin(self.twin.trigger)
