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

from typing import Callable, Iterator, Protocol, Sequence, runtime_checkable

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


ROLES: dict[str, type] = {
    "pulse_generator": PulseGenerator,
    "spectrum_analyser": SpectrumAnalyser,
    "bias_source": BiasSource,
    "frame_source": FrameSource,
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
