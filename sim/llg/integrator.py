"""Time integration of a batch of spin lattices: state, clock, noise, checks.

Each sample has its own damping α, temperature T and external field; all
advance together in one (B, 3, L, L) tensor on any torch device. The
stochastic field of the fluctuation–dissipation theorem has variance
2αk_BT/(γμ_sΔt) per component per step; it is drawn from one generator per
sample, so a sample's trajectory does not depend on what it is batched with.

Two backends run the same Heun step: ``torch`` (:mod:`hil.sim.llg.kernels`, any
device, optionally torch.compile'd) and ``numba`` (:mod:`hil.sim.llg.kernels_numba`,
CPU only, one fused loop nest, threads over samples; per core 8–11× the
compiled torch step at T = 0 and 4–5× at T > 0, see benchmarks/notes/llg.md).
``backend="auto"`` takes numba on CPU when it is installed and torch
otherwise (always on CUDA). At T = 0 the two
agree to rounding (≈ 1e-15 per step); at T > 0 each draws its own noise
stream (torch generators vs the kernel's counter-based one), both
reproducible from the seeds and independent of the batch.
"""

from __future__ import annotations

import importlib.util
import math
from typing import Sequence

import numpy as np
import torch

from . import kernels
from .errors import LLGInputError, UnstableTimeStepError
from .fields import BatchField
from .params import LatticeParams
from .units import GAMMA, K_B

#: Longest accepted rotation per step, rad, at the largest possible field
#: (γ·(B_internal bound + |B_ext|)·dt). Measured at L = 100 with the pulse on
#: (benchmarks/notes/llg.md): 0.23 rad (10 fs) still gives max |ΔS| ≈ 9e-6
#: over 5 ps, 0.9 rad 1.4e-4, 1.8 rad is garbage (|ΔS| ≈ 0.9). 0.25 rad keeps
#: a 4–7× margin to the breakdown; longer steps are refused.
MAX_ANGLE_PER_STEP = 0.25
#: The stochastic field enters the rotation bound with its rms value.
_NOISE_PEAK = 1.0
#: Spin-steps from which 'auto' pays the one-off torch.compile cost (~10–20 s).
_COMPILE_WORTH = 2e8
_CHUNK = 1000
#: Spin-steps done so far in this process, per kind of batch (see worth_compiling).
_WORK_DONE: dict[tuple, float] = {}


def max_time_step(params: LatticeParams, field: float, alpha: float = 0.0, temperature: float = 0.0) -> float:
    """Longest accepted step in s for |B_ext| ≤ ``field`` T (see MAX_ANGLE_PER_STEP)."""
    a = GAMMA * (params.internal_field_bound() + abs(field))
    # the noise adds γ·k·σ·dt = b·sqrt(dt) with σ² = 2αk_BT/(γμ_s dt)
    b = GAMMA * _NOISE_PEAK * math.sqrt(2 * alpha * K_B * temperature / (GAMMA * params.moment))
    if a == 0:
        return math.inf if b == 0 else (MAX_ANGLE_PER_STEP / b) ** 2
    x = (-b + math.sqrt(b * b + 4 * a * MAX_ANGLE_PER_STEP)) / (2 * a)
    return x * x


#: Names accepted for ``backend``.
BACKENDS = ("auto", "torch", "numba")


def resolve_backend(backend: str, device: torch.device) -> str:
    """'torch' or 'numba' for ``backend`` on ``device`` (see the module docstring)."""
    if backend not in BACKENDS:
        raise LLGInputError(f"backend must be one of {BACKENDS}, got {backend!r}")
    has_numba = importlib.util.find_spec("numba") is not None
    if backend == "auto":
        return "numba" if device.type == "cpu" and has_numba else "torch"
    if backend == "numba":
        if device.type != "cpu":
            raise LLGInputError(f"the numba backend runs on CPU only, not on {device}; use backend='torch'")
        if not has_numba:
            raise LLGInputError("backend='numba' needs numba (pip install numba); or use backend='torch'")
    return backend


def _per_sample(name: str, values, n: int) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(values, dtype=float))
    if arr.ndim != 1 or (len(arr) != n and len(arr) != 1):
        raise LLGInputError(f"{name} must be a scalar or one value per sample ({n}), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise LLGInputError(f"{name} must be finite, got {arr}")
    return np.broadcast_to(arr, (n,)).copy()


class Integrator:
    """Advance B spin lattices under LLG with Heun steps of ``dt`` s.

    ``spins`` (B, 3, L, L) or (3, L, L) (then copied to every sample);
    ``alphas``, ``temperatures`` (K) scalars or one per sample; ``field`` a
    :class:`BatchField`. ``seeds`` one int per sample for the noise.
    ``compile``: True, False or 'auto' (torch backend: compile when the
    remaining work is worth the start-up cost). ``backend``: 'auto', 'torch'
    or 'numba' (see the module docstring); the one in use is ``self.backend``.
    """

    def __init__(self, params: LatticeParams, spins, alphas, temperatures, field: BatchField,
                 dt: float, device="cpu", dtype=torch.float64, seeds: Sequence[int] | None = None,
                 compile="auto", backend="auto"):
        self.params = params
        self.field = field
        n = len(field)
        self.alphas = _per_sample("alpha", alphas, n)
        if np.any(self.alphas < 0):
            raise LLGInputError(f"damping α must be ≥ 0, got {self.alphas.min()}")
        self.temperatures = _per_sample("temperature", temperatures, n)
        if np.any(self.temperatures < 0):
            raise LLGInputError(f"temperature must be ≥ 0 K, got {self.temperatures.min()}")
        dt = float(dt)
        if not math.isfinite(dt) or dt <= 0:
            raise LLGInputError(f"time step dt must be > 0 s, got {dt}")
        self.dt = dt
        if compile not in (True, False, "auto"):
            raise LLGInputError(f"compile must be True, False or 'auto', got {compile!r}")
        self.compile = compile
        self.device = torch.device(device)
        self.backend = resolve_backend(backend, self.device)
        self.dtype = dtype
        L = params.L
        s = torch.as_tensor(np.asarray(spins) if not isinstance(spins, torch.Tensor) else spins)
        if s.dim() == 3:
            s = s.unsqueeze(0).expand(n, -1, -1, -1)
        if tuple(s.shape) != (n, 3, L, L):
            raise LLGInputError(f"spins must have shape ({n}, 3, {L}, {L}), got {tuple(s.shape)}")
        s = s.to(device=self.device, dtype=dtype).clone()
        self.spins = s / torch.linalg.vector_norm(s, dim=1, keepdim=True)
        self.time = 0.0
        self.steps_taken = 0
        self._coef = torch.tensor(params.field_coefficients(), dtype=dtype, device=self.device)
        a = torch.as_tensor(self.alphas, dtype=dtype, device=self.device).reshape(n, 1, 1, 1)
        self._g = GAMMA / (1 + a * a)  # γ/(1+α²), rad/(s·T)
        self._ga = self._g * a
        self._noisy = bool(np.any(self.alphas * self.temperatures > 0))
        # σ²·dt = 2αk_BT/(γμ_s), T²·s
        var_dt = 2 * self.alphas * K_B * self.temperatures / (GAMMA * params.moment)
        self._sigma_sqrt_dt = torch.as_tensor(np.sqrt(var_dt), dtype=dtype, device=self.device).reshape(n, 1, 1, 1)
        if seeds is None:
            seeds = [0] * n
        if len(seeds) != n:
            raise LLGInputError(f"need one seed per sample ({n}), got {len(seeds)}")
        self._seeds = np.array([int(sd) & 0xFFFFFFFFFFFFFFFF for sd in seeds], dtype=np.uint64)
        #: steps drawn from the numba noise stream so far (whole and partial steps)
        self._noise_steps = 0
        self._gens = []
        for sd in seeds:
            g = torch.Generator(device=self.device)
            g.manual_seed(int(sd))
            self._gens.append(g)

    # -- checks ----------------------------------------------------------------
    def _check_step(self, dt: float, fields: np.ndarray, t0: float) -> None:
        bmax = float(np.linalg.norm(fields, axis=-1).max()) if fields.size else 0.0
        dt_max = min(max_time_step(self.params, bmax, a, T) for a, T in zip(self.alphas, self.temperatures))
        if dt > dt_max * (1 + 1e-9):
            raise UnstableTimeStepError(
                f"time step {dt / 1e-15:.3g} fs is unstable for these fields "
                f"(|B_ext| up to {bmax:.3g} T near t = {t0 / 1e-12:.4g} ps, internal up to "
                f"{self.params.internal_field_bound():.3g} T, T ≤ {self.temperatures.max():.3g} K); "
                f"use dt ≤ {dt_max / 1e-15:.3g} fs", dt, dt_max)

    def _check_finite(self) -> None:
        if not bool(torch.isfinite(self.spins).all()):
            dt_max = max_time_step(self.params, 0.0, self.alphas.max(), self.temperatures.max())
            raise UnstableTimeStepError(
                f"spins became NaN/inf by t = {self.time / 1e-12:.4g} ps with dt = "
                f"{self.dt / 1e-15:.3g} fs; the fields exceeded what this step can follow: "
                f"use a shorter dt (≤ {dt_max / 1e-15:.3g} fs without field)", self.dt, dt_max)

    # -- stepping --------------------------------------------------------------
    def _noise(self, dt: float) -> torch.Tensor | None:
        if not self._noisy:
            return None
        L = self.params.L
        # drawn in float32 (5× faster than float64 on CPU); a white-noise field
        # needs no more digits, and the sum with B_eff is done in self.dtype
        z = torch.stack([torch.randn((3, L, L), generator=g, dtype=torch.float32, device=self.device)
                         for g in self._gens])
        return z.to(self.dtype) * (self._sigma_sqrt_dt / math.sqrt(dt))

    def _to_field(self, b: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(b, dtype=self.dtype, device=self.device).reshape(-1, 3, 1, 1)

    def worth_compiling(self, n_steps: int) -> bool:
        """Whether ``n_steps`` more steps repay the one-off compile cost.

        Counts the work this process has already done with the same kind of
        batch, so a twin advanced frame by frame compiles once it has shown
        that it runs long, and a kind already compiled stays compiled.
        """
        work = n_steps * len(self.field) * self.params.L ** 2
        done = _WORK_DONE.get(self._kind, 0.0)
        return work + done >= _COMPILE_WORTH

    def _use_compile(self, n_steps: int) -> bool:
        _WORK_DONE[self._kind] = _WORK_DONE.get(self._kind, 0.0)
        if self.compile == "auto":
            use = self.worth_compiling(n_steps)
        else:
            use = bool(self.compile)
        _WORK_DONE[self._kind] += n_steps * len(self.field) * self.params.L ** 2
        return use

    @property
    def _kind(self) -> tuple:
        return (len(self.field), self.params.L, self.dtype, self.device.type, self._noisy,
                self.params.periodic)

    def _steps(self, fields: np.ndarray, dt: float, compiled: bool) -> None:
        """len(fields) − 1 steps of ``dt`` s; fields (n+1, B, 3) T at the step boundaries."""
        n = len(fields) - 1
        if self.backend == "numba":
            from . import kernels_numba

            # a fresh array each call: tensors handed out earlier never change
            S = np.ascontiguousarray(self.spins.numpy()).copy()
            noisy = dict(sigma=(self._sigma_sqrt_dt / math.sqrt(dt)).reshape(-1).numpy(),
                         seeds=self._seeds, step0=self._noise_steps) if self._noisy else {}
            kernels_numba.advance(S, fields, (self._g * dt).reshape(-1).numpy(),
                                  (self._ga * dt).reshape(-1).numpy(), self.params.field_coefficients(),
                                  self.params.periodic, threads=torch.get_num_threads(), **noisy)
            self._noise_steps += n
            self.spins = torch.from_numpy(S)
            return
        fb = self._to_field(fields.reshape(-1, 3)).reshape(n + 1, -1, 3, 1, 1)
        gdt, gadt = self._g * dt, self._ga * dt
        S = self.spins
        for k in range(n):
            S = kernels.StepFunction.call(compiled, S, fb[k], fb[k + 1], self._noise(dt),
                                          gdt, gadt, self._coef, self.params.periodic)
        self.spins = S

    def advance_to(self, t: float, progress=None) -> None:
        """Integrate up to time ``t`` s (whole steps, then one shorter step if needed)."""
        t = float(t)
        if not math.isfinite(t):
            raise LLGInputError(f"time must be finite, got {t}")
        if t < self.time - 1e-6 * self.dt:
            raise LLGInputError(f"cannot go back in time: now {self.time:.6g} s, asked {t:.6g} s")
        remaining = t - self.time
        n_full = int(math.floor(remaining / self.dt + 1e-6))
        compiled = self.backend == "torch" and self._use_compile(n_full)
        dt = self.dt
        # no_grad, not inference_mode: inference tensors have another dispatch key
        # set, which would make a compiled step recompile between the first and
        # later chunks
        with torch.no_grad():
            done = 0
            while done < n_full:
                n = min(_CHUNK, n_full - done)
                t0 = self.time
                times = t0 + dt * np.arange(n + 1)
                fields = self.field(times)
                self._check_step(dt, fields, t0)
                self._steps(fields, dt, compiled)
                done += n
                self.steps_taken += n
                self.time = t0 + n * dt
                self._check_finite()
                if progress is not None:
                    progress(n * dt)
            rest = t - self.time
            if rest > 1e-6 * dt:
                fields = self.field(np.array([self.time, t]))
                self._check_step(rest, fields, self.time)
                self._steps(fields, rest, False)
                self._check_finite()
            self.time = t

    def external_field(self, t: float | None = None) -> np.ndarray:
        """Applied field (B, 3) in T at ``t`` (default: now)."""
        return self.field(np.array([self.time if t is None else t]))[0]
