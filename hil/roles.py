"""The roles a bench can fill, as structural interfaces in SI units.

A protocol never names an instrument class: it asks the bench for a role and
uses only the methods below. A real driver (``drivers/``) and a twin
(``sim/``) of the same kind both satisfy the role, so the bench file alone
decides real or simulated. Units: V, A, Hz, s, dBm, T.

Every role shares :class:`Instrument`: ``shutdown`` puts the instrument in
its safe state (outputs off) and ``close`` releases the connection. The bench
calls both on exit, whatever happened inside the ``with`` block.

Safety limits are *not* the drivers' business: the bench wraps every role in
a guard (:mod:`hil.guards`) that refuses out-of-limit requests before any
command is sent.
"""

from __future__ import annotations

from typing import Callable, Iterator, Mapping, Protocol, Sequence, runtime_checkable

import numpy as np

#: 1-D float64 arrays; a trace is an (x, y) pair of equal length.
Trace = tuple[np.ndarray, np.ndarray]


@runtime_checkable
class Instrument(Protocol):
    """What the bench needs of every instrument, whatever its role."""

    def shutdown(self) -> None:
        """Switch every output off and leave the instrument safe to touch."""

    def close(self) -> None:
        """Release the connection (VISA session, socket, twin handle)."""


@runtime_checkable
class PulseGenerator(Instrument, Protocol):
    """A generator that fires one shaped voltage pulse per trigger.

    The pulse is uploaded as an arbitrary waveform and played once per
    trigger (burst of one cycle). Time zero is the trigger.
    """

    def set_gaussian_pulse(self, amplitude: float, width: float, delay: float) -> None:
        """Upload V(t) = amplitude·exp(−(t−delay)²/(2·width²)).

        amplitude: peak voltage in V (sign kept); width: Gaussian sigma t_w
        in s; delay: time from the trigger to the pulse centre in s.
        """

    def set_arbitrary_pulse(self, samples: np.ndarray, sample_rate: float) -> None:
        """Upload an arbitrary pulse: ``samples`` in V, played at ``sample_rate`` Sa/s
        starting at the trigger."""

    def arm(self) -> None:
        """Burst mode, one cycle per trigger, trigger from the bus; wait for it."""

    def trigger(self) -> None:
        """Fire the armed pulse now (software/bus trigger)."""

    def output_on(self) -> None:
        """Connect the output."""

    def output_off(self) -> None:
        """Disconnect the output."""


@runtime_checkable
class SpectrumAnalyser(Instrument, Protocol):
    """A swept spectrum analyser with a zero-span (power versus time) mode."""

    def configure_sweep(
        self, centre: float, span: float, rbw: float, vbw: float, points: int
    ) -> None:
        """Set centre and span (Hz), resolution and video bandwidth (Hz), trace points."""

    def sweep(self) -> Trace:
        """Take one single sweep, wait for it to complete, return (frequency Hz, power dBm)."""

    def zero_span(
        self, frequency: float, rbw: float, sweep_time: float, points: int
    ) -> Trace:
        """Sit at ``frequency`` (Hz) with span 0, sweep once for ``sweep_time`` (s);
        return (time s since the sweep start, power dBm)."""


@runtime_checkable
class BiasSource(Instrument, Protocol):
    """A DC current source with a voltage compliance (Keithley 6221/2400-like)."""

    def set_current(self, current: float) -> None:
        """Source ``current`` in A. Never clamped: an unsupported value raises."""

    def get_current(self) -> float:
        """The source setpoint in A as the instrument reports it."""

    def set_compliance_voltage(self, voltage: float) -> None:
        """Voltage compliance in V."""

    def measure_voltage(self) -> float:
        """Voltage across the load in V (readback)."""

    def output_on(self) -> None:
        """Connect the output."""

    def output_off(self) -> None:
        """Disconnect the output."""


@runtime_checkable
class FrameSource(Instrument, Protocol):
    """Frames of a sample's S_z (or images) at chosen times after the last trigger."""

    def frames(self, times: Sequence[float]) -> Iterator[tuple[float, np.ndarray]]:
        """Yield (time s, frame) for each requested time, in increasing order.

        Frames are 2-D float32 arrays (S_z in [−1, 1], or image intensity).
        """


@runtime_checkable
class Digitizer(Instrument, Protocol):
    """A multichannel time-resolved readout with segmented memory (oscilloscope or digitizer).

    Why a role of its own: a spectrum analyser's zero span responds in about
    1/RBW (~20 ns at RBW ≤ 8 MHz) and reads one oscillator per trigger, so it
    cannot follow a chip driven in 1 ns steps nor read its outputs together.
    A fast power detector per output into a digitizer channel reads every
    output at once, and segmented memory keeps one segment per trigger, so a
    whole batch of input sequences is one acquisition and one transfer.

    Wiring assumed: the pulse generator's trigger (sync/marker) output goes to
    the digitizer's external trigger input, so every pulse the generator plays
    starts one segment. Time zero of each segment is its trigger; channels are
    numbered from 1 as on the front panel.
    """

    def configure(self, channels: Sequence[int], sample_rate: float, samples: int, segments: int,
                  full_range: float, offset: float = 0.0) -> None:
        """Acquire ``channels`` at ``sample_rate`` Sa/s, ``samples`` points per segment from the
        trigger on, ``segments`` triggers per acquisition; every channel spans ``full_range`` V
        peak to peak centred on ``offset`` V (what its ADC maps onto its codes)."""

    def arm(self) -> None:
        """Start a segmented acquisition: the next ``segments`` external triggers each fill one segment."""

    def fetch(self) -> tuple[np.ndarray, np.ndarray]:
        """Wait for the acquisition to finish; return (time s since each segment's trigger,
        shape (samples,); volts, shape (segments, channels, samples), channels in configured order).
        An acquisition that did not receive all its triggers raises (an instrument error)."""


@runtime_checkable
class Weights(Instrument, Protocol):
    """How a network's trainable parameters reach the chip: a bank of DAC channels, one per parameter.

    Why a role: chip-in-the-loop training changes the chip's couplings and
    biases after every batch, so programming them is an instrument operation
    like any other, with a range, a resolution and a settling time, and it
    must work on a real chip. A lab implements it with a multichannel DAC
    (voltages on the coupling and bias lines) or the chip's programming port,
    plus its calibration sheet: which channel drives which parameter and how
    many volts per unit. The role speaks calibrated values, so a protocol
    needs no calibration of its own: couplings are dimensionless gains, biases
    are drive rates in 1/s (what the chip's neurons add to their drive).

    Kinds and shapes follow the network's layers: ``w_ext[l]`` (n_l, fan_in),
    ``w_int[l]`` (n_l, n_l), ``bias[l]`` (n_l,).
    """

    @property
    def shapes(self) -> dict[str, tuple[tuple[int, ...], ...]]:
        """For each kind (``w_ext``, ``w_int``, ``bias``), the shape of each layer's array."""

    @property
    def ranges(self) -> dict[str, tuple[float, float, float]]:
        """For each kind, (lowest, highest, resolution) a channel can be set to, in calibrated units."""

    def set_weights(self, weights: Mapping[str, Sequence[np.ndarray]]) -> None:
        """Load every parameter at once. A value outside its kind's range raises and nothing is
        set (never clipped); a value inside is rounded to the nearest multiple of the
        resolution, as the DAC's codes do. New values act on the chip once settled."""

    def get_weights(self) -> dict[str, list[np.ndarray]]:
        """The values set now (after rounding to the resolution), same kinds and shapes."""

    def settle(self) -> None:
        """Wait until every output has settled (the DAC's settling time) so the chip runs on the new values."""


ROLES: dict[str, type] = {
    "pulse_generator": PulseGenerator,
    "spectrum_analyser": SpectrumAnalyser,
    "bias_source": BiasSource,
    "frame_source": FrameSource,
    "digitizer": Digitizer,
    "weights": Weights,
}


# ----------------------------------------------------------------------------
# Samples: what twin instruments drive and read. Real benches have a physical
# sample instead; only twins talk to these.
# ----------------------------------------------------------------------------

#: B(t): time in s after the trigger → field vector (3,) in T.
FieldWaveform = Callable[[float], np.ndarray]


@runtime_checkable
class FieldDrivenSample(Protocol):
    """A magnetic sample under an applied field pulse (the LLG skyrmion twin).

    Time is measured from the trigger; ``start`` resets the sample to its
    initial state and zeroes the clock.
    """

    def start(self, field: FieldWaveform) -> None:
        """Reset to the initial state and apply B(t) from t = 0."""

    def advance_to(self, time: float) -> None:
        """Integrate the dynamics up to ``time`` s after the trigger."""

    def sz(self) -> np.ndarray:
        """S_z of every spin now, float32 (L, L)."""


@runtime_checkable
class CurrentDrivenSample(Protocol):
    """A set of oscillators each driven by a DC bias current (the STNO chip twin)."""

    @property
    def n_oscillators(self) -> int:
        """How many oscillators can be biased and read."""

    def set_bias(self, index: int, current: float) -> None:
        """Set the DC bias current of oscillator ``index`` in A."""

    def resistance(self, index: int) -> float:
        """DC resistance of oscillator ``index`` in ohm (for compliance)."""

    def advance_to(self, time: float) -> None:
        """Integrate the dynamics up to ``time`` s."""

    @property
    def time(self) -> float:
        """Current sample time in s."""

    def frequencies(self) -> np.ndarray:
        """Oscillation frequency of each oscillator now, Hz."""

    def powers(self) -> np.ndarray:
        """Emitted RF power of each oscillator now, W."""

    def linewidths(self) -> np.ndarray:
        """Full width at half maximum of each line now, Hz."""
