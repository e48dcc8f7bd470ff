"""A multilayer spin-torque oscillator chip, as a bench sample.

Physics (time in ns, rates in 1/ns inside; SI at the instrument boundary):
neuron i of layer n obeys dx/dt = −γ_i x + I x (1 − x) with
I = S (W_ext y^{n−1} + W_int y^n + b) + I_rail, where y^n is the on-chip
high-pass filtered power (dy/dt = −2π f_cut y + dx/dt) and y^{−1} the input
line. Integration is the digital model's: sub-steps of at most ``max_step``
ns with the drive held, x by the exact logistic solution
(:func:`hil.sim.oscillator.logistic_step`, the same numpy kernel the oscillator
array uses), y exactly for x linear over the sub-step.

What the chip has and the digital model (models/oscillator_net.py) does not:

- device-to-device spread of γ (``gamma_spread``, relative, default 10 %);
- a fixed bias that comes from a real current source: the source feeds the
  chip's reference input and an on-chip current mirror copies that current
  into every oscillator; drive = γ_nom · I_rail / I_th, so the source's
  quantisation and any mis-set current show up (``ChipBiasSource``);
  2γ ↔ 2 I_th (2 mA by default);
- each neuron resets (inputs off, between sequences) to *its own*
  free-running fixed point 1 − γ_i / (I_rail + S b_i);
- readout noise on x (``readout_noise``, absolute, default 0.01) and a
  finite detection bandwidth: through the spectrum analyser its RBW filter,
  through the power detectors (the digitizer path) a one-pole low-pass of
  ``detector_bandwidth`` Hz applied to the power trace (:meth:`detect`).

Two readouts, both driven by the instruments only. Zero span: the input
AWG plays a sequence (``start``), the analyser sits at one output
oscillator's frequency and ``advance_to`` steps the network as it sweeps;
powers()/frequencies()/linewidths() are what it sees
(:class:`hil.roles.CurrentDrivenSample`). Detectors and digitizer: while a
:class:`hil.sim.chip.ChipDigitizer` is armed, every sequence the AWG
triggers is also kept (``open_capture``/``take_capture``: the trigger cable
from the AWG to the digitizer); on fetch the digitizer runs all of them at
once through :meth:`measure_played` — the same physics, noise and detector
as :meth:`measure_batch`, vectorised over the batch.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np

from hil.errors import InstrumentError
from hil.instruments.dacs import WEIGHT_KINDS, weight_shapes
from hil.sim.oscillator import logistic_step


class ChipTimeout(InstrumentError, TimeoutError):
    """The chip stopped answering (fault injection: ``fail_after`` sequences)."""


def highpass_step(y: np.ndarray, x_old: np.ndarray, x_new: np.ndarray, f_cut: float, h: float) -> np.ndarray:
    """y after h ns of dy/dt = −2π f_cut y + dx/dt with x linear over the step (f_cut in GHz)."""
    w = 2 * math.pi * f_cut * h
    return y * math.exp(-w) + (x_new - x_old) * (-math.expm1(-w) / w)


class OscillatorChip:
    """The chip twin. Satisfies :class:`hil.roles.CurrentDrivenSample` (n = all neurons)."""

    def __init__(
        self,
        hidden: tuple[int, ...] | list[int] = (32, 32, 32),
        n_in: int = 1,
        tau: float = 14.12,
        S: float = 0.5,
        f_cut: float = 0.045,
        max_step: float = 1.0,
        gamma_spread: float = 0.10,
        readout_noise: float = 0.01,
        detector_bandwidth: float = 100.0e6,
        threshold_current: float = 1.0e-3,
        resistance: float = 100.0,
        f0: float = 2.0e9,
        f_spacing: float = 100.0e6,
        shift: float = 0.5e6,
        p_max: float = 1.0e-9,
        linewidth: float = 1.0e6,
        x_floor: float = 1.0e-3,
        fail_after: int | None = None,
        chunk_steps: int = 32,
        chunk_tolerance: float = 1e-9,
        max_passes: int = 10,
        seed: int = 0,
    ):
        self.hidden, self.n_in = tuple(int(n) for n in hidden), int(n_in)
        if not self.hidden or min(self.hidden) < 1:
            raise ValueError(f"hidden layer sizes must be >= 1, got {hidden}")
        if tau <= 0 or f_cut <= 0 or max_step <= 0 or threshold_current <= 0 or p_max <= 0:
            raise ValueError("tau, f_cut, max_step, threshold_current and p_max must be > 0")
        if not 0 <= gamma_spread < 0.5:
            raise ValueError(f"gamma_spread is relative and must be in [0, 0.5), got {gamma_spread}")
        self.tau, self.S, self.f_cut, self.max_step = float(tau), float(S), float(f_cut), float(max_step)
        self.gamma_nominal = 1.0 / self.tau
        self.readout_noise, self.detector_bandwidth = float(readout_noise), float(detector_bandwidth)
        self.threshold_current, self.x_floor = float(threshold_current), float(x_floor)
        # the device (γ spread) comes from the seed; readout noise from the seed and the programmed weights
        # (program()), so what one network measures does not depend on what was measured before it
        self.noise_seed = int(seed)
        n = sum(self.hidden)
        spread = np.clip(1.0 + gamma_spread * np.random.default_rng(seed).standard_normal(n), 0.2, None)
        self.gamma = [g for g in np.split(self.gamma_nominal * spread, np.cumsum(self.hidden)[:-1])]
        self._resistance = np.full(n, float(resistance))
        self.f0 = f0 + f_spacing * np.arange(n)
        self.shift, self.p_max, self.linewidth = float(shift), float(p_max), float(linewidth)
        self.fail_after, self.sequences_run = fail_after, 0
        if int(chunk_steps) < 1 or not chunk_tolerance > 0:
            raise ValueError("chunk_steps must be >= 1 and chunk_tolerance > 0")
        self.chunk_steps, self.chunk_tolerance = int(chunk_steps), float(chunk_tolerance)  # see _run_long
        self.max_passes, self.last_passes = max(1, int(max_passes)), 0
        self.rail_current = 0.0
        self._rest1: list[tuple[np.ndarray, np.ndarray]] | None = None  # cached rest state of one sequence
        self.programs = 0  # how many times weights were loaded: a digitizer re-keys its noise when this moves
        self.program(None)
        self._sequence: np.ndarray | None = None
        self._time = 0.0  # s
        self._state: list[tuple[np.ndarray, np.ndarray]] = self._rest_state(1)
        self._capture: list[tuple[np.ndarray, float]] | None = None

    # -- configuration ------------------------------------------------------------
    def program(self, prog: dict | None) -> None:
        """Load weights and biases: ``prog`` has lists ``w_ext``, ``w_int``, ``bias`` per layer
        (shapes (n_l, fan_in), (n_l, n_l), (n_l,)); None loads zeros. Wrong shapes raise."""
        shapes = weight_shapes(self.hidden, self.n_in)
        if prog is None:
            prog = {key: [np.zeros(shape) for shape in shapes[key]] for key in WEIGHT_KINDS}
        problems = []
        for key in WEIGHT_KINDS:
            if key not in prog or len(prog[key]) != len(self.hidden):
                problems.append(f"{key}: need one array per layer ({len(self.hidden)} layers)")
        if not problems:
            for l in range(len(self.hidden)):
                for key in WEIGHT_KINDS:
                    shape = shapes[key][l]
                    a = np.asarray(prog[key][l], dtype=float)
                    if a.shape != shape:
                        problems.append(f"{key}[{l}] has shape {a.shape}, this chip needs {shape}")
                    elif not np.all(np.isfinite(a)):
                        problems.append(f"{key}[{l}] contains NaN or inf")
        if problems:
            raise ValueError("cannot program the chip: " + "; ".join(problems))
        self._rest1 = None  # the rest state depends on the biases ...
        self.w_ext = [np.asarray(a, dtype=float).copy() for a in prog["w_ext"]]
        self.w_int = [np.asarray(a, dtype=float).copy() for a in prog["w_int"]]
        self.bias = [np.asarray(a, dtype=float).copy() for a in prog["bias"]]
        self.program_key = _weights_key(self.w_ext + self.w_int + self.bias)
        self.programs += 1
        self.noise = np.random.default_rng([self.noise_seed, self.program_key])

    def set_rail_current(self, current: float) -> None:
        """The shared bias rail (A), as delivered by the bias source."""
        self.rail_current = float(current)
        self._rest1 = None  # ... and on the rail

    @property
    def rail_drive(self) -> float:
        """The rail's drive in 1/ns: γ_nom · I_rail / I_th (2 I_th ↔ the reference 2γ)."""
        return self.gamma_nominal * self.rail_current / self.threshold_current

    # -- physics ------------------------------------------------------------------
    def _rest_state(self, batch: int) -> list[tuple[np.ndarray, np.ndarray]]:
        if batch == 1 and self._rest1 is not None:
            return self._rest1  # every trigger starts here; program() and the rail reset it
        state = []
        for l, n in enumerate(self.hidden):
            free = self.rail_drive + self.S * self.bias[l]
            with np.errstate(divide="ignore"):
                x = np.where(free > 0, 1.0 - self.gamma[l] / np.where(free > 0, free, 1.0), 0.0)
            x = np.maximum(x, self.x_floor)
            state.append((np.tile(x, (batch, 1)), np.zeros((batch, n))))
        if batch == 1:
            self._rest1 = state  # never changed in place: _substep makes new arrays
        return state

    def _substeps(self, dt: float) -> tuple[int, float]:
        n = max(1, math.ceil(dt / self.max_step - 1e-9))
        return n, dt / n

    def _substep(self, state, u: np.ndarray, h: float):
        """One held-drive sub-step of every layer; u: (B, n_in) input line values."""
        below = u
        new = []
        for l, (x, y) in enumerate(state):
            drive = self.S * (below @ self.w_ext[l].T + y @ self.w_int[l].T + self.bias[l]) + self.rail_drive
            gamma = self.gamma[l]
            x1 = logistic_step(x, drive / gamma, gamma, h)  # ζ = I/γ in the array's form
            y1 = highpass_step(y, x, x1, self.f_cut, h)
            new.append((x1, y1))
            below = y1
        return new

    def _count_sequence(self) -> None:
        if self.fail_after is not None and self.sequences_run >= self.fail_after:
            raise ChipTimeout(f"oscillator chip did not answer after {self.sequences_run} sequences (timeout)")
        self.sequences_run += 1

    def _batch_inputs(self, inputs: np.ndarray) -> np.ndarray:
        u = np.asarray(inputs, dtype=float)
        if u.ndim == 2:
            u = u[:, :, None]
        if u.ndim != 3 or u.shape[2] != self.n_in:
            raise ValueError(f"inputs must be (batch, steps[, {self.n_in}]), got {u.shape}")
        if not np.all(np.isfinite(u)):
            raise ValueError("input sequence contains NaN or inf")
        return u

    def simulate(self, inputs: np.ndarray, dt: float) -> np.ndarray:
        """Noise-free x of the last layer after every input step: (B, T+1, N_last), index 0 = rest.

        ``inputs``: (B, T) or (B, T, n_in) input-line values held ``dt`` ns each.
        """
        u = self._batch_inputs(inputs)
        self._count_sequence()
        return self._run(u, dt)

    def _run(self, u: np.ndarray, dt: float) -> np.ndarray:
        B, T, _ = u.shape
        if B == 1 and T >= 2 * self.chunk_steps:
            return self._run_long(u[0], dt)[None]
        out, _ = self._integrate(u, dt, self._rest_state(B))
        return out

    def _integrate(self, u: np.ndarray, dt: float, state, ends: np.ndarray | None = None):
        """x of the last layer after every step, (B, T+1, N_last), from ``state``; with ``ends``
        (B,) also the full state of row b after ``ends[b]`` steps (for :meth:`_run_long`)."""
        B, T, _ = u.shape
        out = np.empty((B, T + 1, self.hidden[-1]))
        out[:, 0] = state[-1][0]
        saved = [(x.copy(), y.copy()) for x, y in state] if ends is not None else None
        nsub, h = self._substeps(dt)
        for t in range(T):
            for _ in range(nsub):
                state = self._substep(state, u[:, t], h)
            out[:, t + 1] = state[-1][0]
            if ends is not None:
                rows = np.flatnonzero(ends == t + 1)
                for (sx, sy), (x, y) in zip(saved, state):
                    sx[rows], sy[rows] = x[rows], y[rows]
        return out, saved

    def _finish_sequential(self, chunks, lengths, first: int, start, dt: float, result) -> None:
        """Chunks ``first``… one after the other, each from the previous one's end (``first``'s start is exact:
        every chunk before it was consistent in the last pass)."""
        state = [(x[first:first + 1].copy(), y[first:first + 1].copy()) for x, y in start]
        for c in range(first, len(lengths)):
            n = int(lengths[c])
            out, ends = self._integrate(chunks[c:c + 1, :n], dt, state, np.array([n]))
            result[c, :n + 1] = out[0]
            state = ends

    def _run_long(self, u: np.ndarray, dt: float) -> np.ndarray:
        """One long waveform (T, n_in) — a whole batch of sequences played back to back with
        guard time — integrated parallel in time, to the same result as step by step.

        The waveform is cut where a run of at least ``chunk_steps`` zero inputs ends
        (the guard between two sequences; any cut is correct, these are fast). Pass 1
        integrates every chunk at once from the rest state; each further pass restarts
        chunk c from the end state of chunk c − 1 of the pass before, until no start
        state moves by more than ``chunk_tolerance`` (x units). Pass k is exact for the
        first k chunks, so this ends with the sequential result (to the tolerance); with
        a guard of a few τ on a network whose rest attracts it takes two or three passes.
        Where the chunks keep moving after ``max_passes`` (a rest that does not attract),
        the rest is integrated chunk after chunk from the first one still moving.
        """
        T = len(u)
        quiet = np.all(u == 0.0, axis=1)
        cuts, run = [0], 0
        for t in range(T):
            if quiet[t]:
                run += 1
            else:
                if run >= self.chunk_steps and t - cuts[-1] >= self.chunk_steps:
                    cuts.append(t)
                run = 0
        if len(cuts) < 2:
            out, _ = self._integrate(u[None], dt, self._rest_state(1))
            return out[0]
        bounds = np.array(cuts + [T])
        lengths = np.diff(bounds)
        C, L = len(lengths), int(lengths.max())
        chunks = np.zeros((C, L, self.n_in))
        for c in range(C):
            chunks[c, :lengths[c]] = u[bounds[c]:bounds[c + 1]]
        start = self._rest_state(C)
        start = [(x.copy(), y.copy()) for x, y in start]
        todo = np.arange(C)
        result = np.empty((C, L + 1, self.hidden[-1]))
        for passes in range(1, C + 1):
            if passes > self.max_passes:  # not settling (a network whose rest does not attract):
                self._finish_sequential(chunks, lengths, int(todo[0]), start, dt, result)
                break
            sub = [(x[todo], y[todo]) for x, y in start]
            out, ends = self._integrate(chunks[todo], dt, sub, lengths[todo])
            result[todo] = out
            end_of = {int(c): k for k, c in enumerate(todo)}
            moved = []
            for c in range(1, C):
                if c - 1 not in end_of:
                    continue
                k = end_of[c - 1]
                change = max(float(np.max(np.abs(ex[k] - sx[c]))) for (ex, _), (sx, _) in zip(ends, start))
                change = max(change, max(float(np.max(np.abs(ey[k] - sy[c]))) for (_, ey), (_, sy) in zip(ends, start)))
                for (ex, ey), (sx, sy) in zip(ends, start):
                    sx[c], sy[c] = ex[k], ey[k]
                if change > self.chunk_tolerance:
                    moved.append(c)
            if not moved:
                break
            todo = np.array(moved)
        trace = np.empty((T + 1, self.hidden[-1]))
        trace[0] = result[0, 0]
        self.last_passes = passes
        for c in range(C):
            trace[bounds[c] + 1:bounds[c + 1] + 1] = result[c, 1:lengths[c] + 1]
        return trace

    def measure_batch(self, inputs: np.ndarray, dt: float) -> np.ndarray:
        """Measured power traces of the last layer, normalised (x units), (B, T+1, N_last).

        The chip's batched physics seen through its detectors (:meth:`detect`);
        twin-internal, the reference the digitizer path is checked against.
        Protocols read the chip through the Digitizer role instead.
        """
        return self.detect(self.simulate(inputs, dt), dt)

    def measure_played(self, inputs: np.ndarray, dt: float) -> np.ndarray:
        """:meth:`measure_batch` of sequences already triggered (counted at their trigger)."""
        return self.detect(self._run(self._batch_inputs(inputs), dt), dt)

    # -- the trigger line to a digitizer -------------------------------------------
    def open_capture(self) -> None:
        """A digitizer armed: from now on keep every triggered sequence, in order."""
        self._capture = []

    def take_capture(self) -> list[tuple[np.ndarray, float]]:
        """The (inputs (T, n_in), dt ns) triggered since ``open_capture``; closes the capture."""
        played, self._capture = self._capture or [], None
        return played

    def triggers_captured(self) -> int:
        """Sequences triggered since ``open_capture`` (0 when no capture is open)."""
        return len(self._capture or [])

    def detect(self, x: np.ndarray, dt: float) -> np.ndarray:
        """What a fast power detector on each output delivers, in x units, for x traces (B, T+1, N).

        Readout noise on every sample, then a one-pole low-pass of
        ``detector_bandwidth`` Hz (the detector's finite response) over steps
        of ``dt`` ns.
        """
        from scipy.signal import lfilter

        x = x + self.readout_noise * self.noise.standard_normal(x.shape)
        a = -math.expm1(-2 * math.pi * self.detector_bandwidth * dt * 1e-9)
        # acc_k = acc_{k-1} + a (x_k − acc_{k-1}), starting settled at x_0: one IIR pass along time
        out, _ = lfilter([a], [1.0, a - 1.0], x, axis=1, zi=((1.0 - a) * x[:, :1]))
        return out

    # -- the zero-span path: one sequence, stepped by the analyser --------------
    def start(self, inputs: np.ndarray, dt: float) -> None:
        """Trigger: reset every neuron to rest, then play ``inputs`` (T,) held ``dt`` ns each."""
        u = np.asarray(inputs, dtype=float).reshape(-1, self.n_in)
        if not np.all(np.isfinite(u)):
            raise ValueError("input sequence contains NaN or inf")
        self._count_sequence()
        if self._capture is not None:
            self._capture.append((u.copy(), float(dt)))
        self._sequence, self._dt = u, float(dt)
        self._nsub, self._h = self._substeps(dt)
        self._step_index = 0  # sub-steps done
        self._time = 0.0
        self._state = self._rest_state(1)

    def advance_to(self, time: float) -> None:
        """Integrate up to ``time`` s after the trigger, in whole sub-steps (held between them).
        After the sequence ends the input line reads 0."""
        if time < self._time - 1e-15:
            raise ValueError(f"cannot go back in time: now {self._time:g} s, asked {time:g} s")
        self._time = max(self._time, float(time))
        if self._sequence is None:
            return
        target = int(math.floor(self._time * 1e9 / self._h + 1e-6))
        while self._step_index < target:
            t = self._step_index // self._nsub
            u = self._sequence[t][None, :] if t < len(self._sequence) else np.zeros((1, self.n_in))
            self._state = self._substep(self._state, u, self._h)
            self._step_index += 1

    @property
    def time(self) -> float:
        return self._time

    @property
    def n_oscillators(self) -> int:
        return sum(self.hidden)

    def x_all(self) -> np.ndarray:
        """Present x of every neuron (layer by layer), noise-free."""
        return np.concatenate([x[0] for x, _ in self._state])

    def output_indices(self) -> np.ndarray:
        """Oscillator indices of the last layer (the ones a readout listens to)."""
        return np.arange(self.n_oscillators - self.hidden[-1], self.n_oscillators)

    def _check(self, index: int) -> int:
        if not 0 <= index < self.n_oscillators:
            raise IndexError(f"oscillator {index} does not exist; this chip has 0..{self.n_oscillators - 1}")
        return index

    def set_bias(self, index: int, current: float) -> None:
        """Per-oscillator bias is not wired on this chip: all neurons share the rail."""
        self._check(index)
        raise InstrumentError("this chip has one shared bias rail; drive it with ChipBiasSource (set_rail_current)")

    def resistance(self, index: int) -> float:
        return float(self._resistance[self._check(index)])

    def rail_resistance(self) -> float:
        """Resistance of the mirror's reference branch, ohm (one oscillator's)."""
        return float(self._resistance[0])

    def frequencies(self) -> np.ndarray:
        return self.f0 + self.shift * self.x_all()

    def powers(self) -> np.ndarray:
        x = self.x_all() + self.readout_noise * self.noise.standard_normal(self.n_oscillators)
        return self.p_max * np.clip(x, 0.0, None)

    def linewidths(self) -> np.ndarray:
        return self.linewidth * 0.5 / np.maximum(self.x_all(), self.x_floor)


def _weights_key(arrays: list[np.ndarray]) -> int:
    """A 64-bit key of the programmed weights (sha256 of their float64 bytes): seeds the readout noise."""
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a, dtype=np.float64).tobytes())
    return int.from_bytes(h.digest()[:8], "little")
