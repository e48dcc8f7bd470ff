"""Pulse arithmetic both generator drivers share: the Gaussian's time window, its samples,
and the mapping of volts onto a generator's normalised waveform and its amplitude/offset.

Every check raises ValueError before a command is built, so a refused pulse
sends nothing. Units: V, s, Sa/s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from pymeasure.instruments import Instrument


#: The Gaussian is cut at ±5σ: exp(−12.5) ≈ 4e-6 of the peak, below one step of a 14/16-bit DAC.
HALF_WIDTH_SIGMAS = 5.0
#: Fewer samples per σ than this and the pulse's shape and area depend on where the samples fall.
MIN_SAMPLES_PER_SIGMA = 4.0


@dataclass(frozen=True)
class Layout:
    """Where a sampled Gaussian sits in time: sample i leaves the output at
    ``instrument_delay + i / sample_rate`` after the trigger, and sample
    ``centre_index`` is the pulse centre exactly."""

    points: int
    centre_index: int
    instrument_delay: float  # s, the generator's own trigger-to-output delay


def _finite(name: str, value: float, unit: str) -> float:
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} = {value} {unit} is not a finite number")
    return value


def pulse_args(amplitude: float, width: float, delay: float) -> tuple[float, float, float]:
    """Validate a Gaussian's parameters at the boundary: finite, width > 0, delay ≥ 0."""
    amplitude = _finite("amplitude", amplitude, "V")
    width = _finite("width", width, "s")
    delay = _finite("delay", delay, "s")
    if width <= 0:
        raise ValueError(f"pulse width (Gaussian sigma) must be > 0 s, got {width} s")
    if delay < 0:
        raise ValueError(f"pulse delay must be ≥ 0 s (time from the trigger to the centre), got {delay} s")
    return amplitude, width, delay


def gaussian_layout(width: float, delay: float, sample_rate: float, points: int | None = None) -> Layout:
    """Place ±5σ of samples around the centre, the centre on a sample, nothing before the trigger.

    The lead before the centre is 5σ, or less when the delay is shorter (the
    role's V(t) starts at the trigger, so the leading tail is then cut); the
    generator's trigger delay supplies the rest of ``delay``, so a long delay
    costs no points. ``points`` fixes the length (the tail then takes what the
    lead leaves); by default the tail is 5σ too.
    """
    tolerance = 1e-9  # samples: 5σ·rate computed as 8192.000000001 is 8192
    half = math.ceil(HALF_WIDTH_SIGMAS * width * sample_rate - tolerance)
    centre = min(half, math.floor(delay * sample_rate + tolerance))
    total = centre + half + 1 if points is None else points
    if total <= centre:
        raise ValueError(f"{total} points cannot hold a pulse whose centre is sample {centre}")
    return Layout(points=total, centre_index=centre, instrument_delay=max(delay - centre / sample_rate, 0.0))


def gaussian_samples(amplitude: float, width: float, layout: Layout, sample_rate: float) -> np.ndarray:
    """V = amplitude·exp(−(t−centre)²/(2 width²)) at the layout's sample times."""
    offsets = (np.arange(layout.points) - layout.centre_index) / sample_rate
    return amplitude * np.exp(-0.5 * (offsets / width) ** 2)


def require_sampling(width: float, sample_rate: float, model: str) -> None:
    """Refuse a pulse too narrow for the generator's fastest sampling."""
    if width * sample_rate < MIN_SAMPLES_PER_SIGMA:
        shortest = MIN_SAMPLES_PER_SIGMA / sample_rate
        raise ValueError(
            f"a Gaussian of sigma {width:.3g} s is too narrow for the {model}: at most "
            f"{sample_rate:.3g} Sa/s gives {width * sample_rate:.2g} samples per sigma "
            f"(need ≥ {MIN_SAMPLES_PER_SIGMA:g}); the shortest sigma it can play is {shortest:.3g} s"
        )


def as_samples(samples, min_points: int, max_points: int, model: str) -> np.ndarray:
    """Arbitrary samples (V) → finite 1-D float64 array of a length the generator can hold."""
    array = np.asarray(samples, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"samples must be 1-D, got shape {array.shape}")
    if not min_points <= array.size <= max_points:
        raise ValueError(f"the {model} plays {min_points} to {max_points} points, got {array.size}")
    if not np.all(np.isfinite(array)):
        raise ValueError("samples contain NaN or infinity")
    return array


@dataclass(frozen=True)
class Levels:
    """A waveform expressed the way a generator plays it: output = offset + amplitude/2 · normalised."""

    amplitude: float  # V peak-to-peak of the full DAC scale
    offset: float  # V
    normalised: np.ndarray  # in [−1, 1]


def fit_levels(samples: np.ndarray, min_vpp: float, max_vpp: float, max_level: float, model: str) -> Levels:
    """Map volts onto the full DAC scale, exactly (nothing clipped).

    The span always includes 0 V so the idle level of a pulse is representable.
    A span below the generator's minimum amplitude is played at the minimum
    amplitude with proportionally smaller normalised values: the output
    voltages are still the requested ones, only the DAC resolution drops.
    """
    low = min(float(samples.min()), 0.0)
    high = max(float(samples.max()), 0.0)
    if high > max_level or low < -max_level:
        raise ValueError(
            f"pulse spans {low:.4g} V to {high:.4g} V; the {model} reaches ±{max_level:g} V "
            "at its load setting"
        )
    span = high - low
    if span > max_vpp:
        raise ValueError(f"pulse spans {span:.4g} V peak-to-peak; the {model} plays at most {max_vpp:g} Vpp")
    amplitude = max(span, min_vpp)
    offset = 0.5 * (high + low)
    normalised = (samples - offset) / (0.5 * amplitude)
    # The extremes map to ±1 up to float round-off (1 + 2e-16); the clip removes only that.
    return Levels(amplitude=amplitude, offset=offset, normalised=np.clip(normalised, -1.0, 1.0))


class GeneratorOutput:
    """The role methods both generator drivers share, mixed in before the pymeasure base.

    Needs ``output_channel`` (the channel the pulse plays on), ``write`` and ``adapter``.
    """

    def trigger(self) -> None:
        """Fire the armed pulse now (bus trigger)."""
        self.write("*TRG")

    def output_on(self) -> None:
        self.output_channel.output = True

    def output_off(self) -> None:
        self.output_channel.output = False

    def shutdown(self) -> None:
        """Output off; the instrument stays as set otherwise."""
        self.output_off()
        Instrument.shutdown(self)  # the bare base: the vendor classes' own shutdown sends more

    def close(self) -> None:
        self.adapter.close()
