"""The skyrmion sample as a twin: one LLG lattice under an arbitrary field B(t).

Satisfies :class:`hil.roles.FieldDrivenSample`. The pulse-generator twin
turns its voltage waveform into B(t) through the coil calibration and hands
the sample that callable; sweep axes that exist only on a twin (α, T) are
set in the constructor (the bench file's twin settings).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .defaults import DT
from .errors import LLGInputError
from .fields import BatchField
from .integrator import Integrator
from .labels import label_process
from .observables import energy, magnetisation, topological_charge
from .params import LatticeParams
from .relax import relaxed_skyrmion


class SkyrmionSample:
    """One L×L skyrmion lattice; time in s from the trigger, field in T.

    alpha: damping (≥ 0); temperature: K; dt: Heun step in s; seed: noise
    seed (each ``start`` restarts the same noise stream, so a repeated
    experiment is reproducible; change ``seed`` for a new realisation);
    backend: 'auto', 'torch' or 'numba' (see :class:`~sim.llg.integrator.Integrator`).
    """

    def __init__(self, params: LatticeParams = LatticeParams(), alpha: float = 0.36,
                 temperature: float = 0.0, dt: float = DT, device="cpu",
                 dtype=torch.float64, seed: int = 0, compile="auto", backend="auto"):
        if not isinstance(params, LatticeParams):
            raise LLGInputError(f"params must be a LatticeParams, got {type(params).__name__}")
        self.params = params
        self.alpha = float(alpha)
        self.temperature = float(temperature)
        self.dt = float(dt)
        self.device = device
        self.dtype = dtype
        self.seed = int(seed)
        self.compile = compile
        self.backend = backend
        self._integ: Integrator | None = None
        self._initial = relaxed_skyrmion(params)
        # validate α, T, dt now rather than at the first trigger
        self._make(lambda t: np.zeros(3))
        self._integ = None

    def _make(self, field) -> Integrator:
        return Integrator(self.params, self._initial, [self.alpha], [self.temperature],
                          BatchField([field]), self.dt, device=self.device, dtype=self.dtype,
                          seeds=[self.seed], compile=self.compile, backend=self.backend)

    # -- FieldDrivenSample -------------------------------------------------------
    def start(self, field) -> None:
        """Reset to the relaxed skyrmion and apply B(t) (callable s → (3,) T) from t = 0."""
        if not callable(field):
            raise LLGInputError(f"field must be a callable t → (3,) in T, got {field!r}")
        self._integ = self._make(field)
        self._integ.field(np.array([0.0]))  # fail now on a bad waveform, not mid-run

    def advance_to(self, time: float) -> None:
        """Integrate up to ``time`` s after the trigger."""
        self._require()
        time = float(time)
        if not math.isfinite(time) or time < 0:
            raise LLGInputError(f"time must be finite and ≥ 0 s, got {time}")
        self._integ.advance_to(time)

    def sz(self) -> np.ndarray:
        """S_z (L, L) float32 now (the relaxed state before any ``start``)."""
        return self.spins()[2].astype(np.float32)

    # -- extras for protocols and tests ----------------------------------------------
    @property
    def time(self) -> float:
        """Seconds since the trigger (0 before any ``start``)."""
        return 0.0 if self._integ is None else self._integ.time

    def spins(self) -> np.ndarray:
        """All spins (3, L, L) float64 now."""
        if self._integ is None:
            return self._initial.copy()
        return self._integ.spins[0].cpu().numpy().astype(np.float64)

    def topological_charge(self) -> float:
        return float(topological_charge(self.spins(), self.params.periodic))

    def magnetisation(self) -> np.ndarray:
        return magnetisation(self.spins())

    def energy(self) -> float:
        """Energy in meV including the Zeeman term of the field now."""
        b = None if self._integ is None else self._integ.external_field()[0]
        return float(energy(self.spins(), self.params, b))

    def label(self) -> str:
        """Physics label of the process so far (final once the dynamics has settled)."""
        return label_process(self._initial[2], self.spins(), self.params.periodic)

    def _require(self) -> None:
        if self._integ is None:
            raise LLGInputError("no field applied yet: call start(field) first")
