"""Run a batch of skyrmion processes: frames, observables, final labels.

Time window. Time zero is the trigger; the field is off before it and the
Gaussian pulse is centred at t_p = 40 ps. The frames of interest span
105 ps, so by default they are taken at 0, 15, …, 105 ps (8 frames; the
alternative :data:`FRAMES_5PS` is 0, 5, …, 90 ps, 19 frames): the first
frame is the relaxed skyrmion at the trigger, the window covers the rise,
the peak and 65 ps of the decay, where breathing, switching and collapse
take their different courses. Wide pulses are not over at 105 ps
(t_w = 40 ps is still at 27 % of B0), so the process is integrated beyond
the last frame — to 5 t_w after the pulse centre plus ``settle`` — and then
in steps of ``check_interval`` until the label of every sample stops
changing, and only then labelled (see :mod:`hil.sim.llg.labels`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field as dc_field
from typing import Callable, Sequence

import numpy as np
import torch

from .defaults import DT, FRAMES_5PS, FRAMES_15PS, SETTLE  # noqa: F401 — FRAMES_* re-exported
from .errors import LLGInputError
from .fields import BatchField
from .integrator import Integrator
from .labels import initial_background, label_state, summarise_state
from .observables import energy, magnetisation, topological_charge
from .params import LatticeParams, Pulse
from .relax import relaxed_skyrmion
from .units import PS



@dataclass
class ProcessBatch:
    """Result of :func:`simulate` for B samples and n frames (SI units, energy meV).

    frames (B, n, L, L) float32 S_z; times (n,) s; Q (B, n); M (B, n, 3);
    energy (B, n) meV including the Zeeman term of B(t) at the frame time.
    labels: one of breathing/switching/collapse/mixed per sample, read off
    the state at ``final_time``; ``final_Q``, ``final_M``, ``final_sz`` are
    that state's observables, ``label_final`` whether the label had stopped
    changing when the run ended.
    """

    times: np.ndarray
    frames: np.ndarray
    Q: np.ndarray
    M: np.ndarray
    energy: np.ndarray
    labels: list[str]
    final_time: float
    final_Q: np.ndarray
    final_M: np.ndarray
    final_sz: np.ndarray
    label_final: np.ndarray
    alphas: np.ndarray
    temperatures: np.ndarray
    params: LatticeParams
    dt: float
    fields: list = dc_field(default_factory=list)

    def __len__(self) -> int:
        return len(self.labels)


def _as_list(name: str, values) -> list:
    if callable(values):  # one Pulse or one waveform for every sample
        values = [values]
    values = list(values)
    if not values:
        raise LLGInputError(f"{name} must not be empty")
    return values


def _frame_times(frame_times) -> np.ndarray:
    t = np.asarray(frame_times, dtype=float).ravel()
    if t.size == 0 or not np.all(np.isfinite(t)) or np.any(t < 0) or np.any(np.diff(t) <= 0):
        raise LLGInputError("frame_times must be non-empty, finite, ≥ 0 and strictly increasing (s)")
    return t


def _seeds(seed, n: int) -> list[int]:
    if seed is None:
        seed = 0
    if np.ndim(seed) == 0:
        ss = np.random.SeedSequence(int(seed))
        return [int(c.generate_state(1, dtype=np.uint64)[0] >> 1) for c in ss.spawn(n)]
    seeds = [int(s) for s in seed]
    if len(seeds) != n:
        raise LLGInputError(f"seed must be an int or one int per sample ({n}), got {len(seeds)}")
    return seeds


def simulate(params: LatticeParams, alphas, pulses: Pulse | Callable | Sequence,
             temperatures=0.0, frame_times=FRAMES_15PS, dt: float = DT, device="cpu",
             seed: int | Sequence[int] | None = 0, progress: bool = False, *,
             dtype=torch.float64, settle: float = SETTLE, check_interval: float = 20 * PS,
             max_time: float | None = None, compile="auto", initial=None,
             backend="auto") -> ProcessBatch:
    """Simulate B processes from the relaxed skyrmion, batched in one tensor.

    alphas: damping, scalar or (B,); pulses: a :class:`Pulse` / callable
    t → (3,) T, or one per sample; temperatures: K, scalar or (B,);
    frame_times: s; dt: Heun step, s; device: 'cpu', 'cuda', …; seed: an int
    (sample i draws from a stream spawned from it) or one int per sample
    (a sample's trajectory then does not depend on its batch). Scalars
    broadcast to the longest of alphas, pulses and temperatures.

    ``initial`` replaces the relaxed skyrmion (3, L, L) or (B, 3, L, L).
    ``max_time`` (s) caps the label-settling loop (default: 200 ps past the
    planned end); callables have no known end, so their planned end is the
    last frame plus ``settle``. ``backend``: 'auto', 'torch' or 'numba'
    (see :class:`~sim.llg.integrator.Integrator`).
    """
    if not isinstance(params, LatticeParams):
        raise LLGInputError(f"params must be a LatticeParams, got {type(params).__name__}")
    pulses = _as_list("pulses", pulses)
    n = max(len(pulses), np.size(alphas), np.size(temperatures))
    if len(pulses) == 1:
        pulses = pulses * n
    if len(pulses) != n:
        raise LLGInputError(f"need one pulse per sample ({n}) or a single one, got {len(pulses)}")
    times = _frame_times(frame_times)
    if not (np.isfinite(settle) and settle >= 0 and np.isfinite(check_interval) and check_interval > 0):
        raise LLGInputError(f"need settle ≥ 0 s and check_interval > 0 s, got {settle}, {check_interval}")
    field = BatchField(pulses)
    spins0 = relaxed_skyrmion(params) if initial is None else np.asarray(initial, dtype=float)
    integ = Integrator(params, spins0, alphas, temperatures, field, dt, device=device,
                       dtype=dtype, seeds=_seeds(seed, n), compile=compile, backend=backend)
    s0 = integ.spins[:, 2].cpu().numpy()
    backgrounds = [initial_background(s) for s in s0]

    end = field.end_time()
    planned = max(times[-1], end if end is not None else 0.0) + settle
    limit = planned + 200 * PS if max_time is None else float(max_time)
    if compile == "auto" and integ.backend == "torch":
        integ.compile = integ.worth_compiling(int(planned / integ.dt))

    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=round(planned / PS, 1), unit="ps", desc=f"LLG ×{n}")
    tick = (lambda s: bar.update(round(s / PS, 3))) if bar is not None else None

    L = params.L
    frames = np.empty((n, len(times), L, L), dtype=np.float32)
    Q = np.empty((n, len(times)))
    M = np.empty((n, len(times), 3))
    E = np.empty((n, len(times)))
    for k, t in enumerate(times):
        integ.advance_to(t, tick)
        S = integ.spins
        frames[:, k] = S[:, 2].cpu().numpy()
        Q[:, k] = topological_charge(S, params.periodic)
        M[:, k] = magnetisation(S)
        E[:, k] = energy(S, params, integ.external_field())

    def labels_now():
        S = integ.spins.cpu().numpy()
        sums = [summarise_state(s, params.periodic) for s in S]
        return [label_state(b, s) for b, s in zip(backgrounds, sums)], np.array([s.Q for s in sums])

    integ.advance_to(max(planned, integ.time), tick)
    labels, q = labels_now()
    stable = np.zeros(n, dtype=bool)
    while True:
        if integ.time + check_interval > limit + 1e-18:
            break
        integ.advance_to(integ.time + check_interval, tick)
        new, q_new = labels_now()
        stable = np.array([a == b for a, b in zip(labels, new)]) & (np.abs(q_new - q) < 0.05)
        labels, q = new, q_new
        if stable.all():
            break
    if bar is not None:
        bar.close()
    if not stable.all():
        warnings.warn(f"labels of samples {np.flatnonzero(~stable).tolist()} were still changing "
                      f"at {integ.time / PS:.0f} ps", RuntimeWarning, stacklevel=2)

    S = integ.spins
    return ProcessBatch(
        times=times, frames=frames, Q=Q, M=M, energy=E, labels=labels, final_time=integ.time,
        final_Q=q, final_M=magnetisation(S), final_sz=S[:, 2].cpu().numpy().astype(np.float32),
        label_final=stable, alphas=integ.alphas, temperatures=integ.temperatures, params=params,
        dt=integ.dt, fields=pulses)
