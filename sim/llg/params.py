"""Parameters of the skyrmion sample and of the field pulse, checked once here.

Hamiltonian (every ordered pair counted, so each bond appears twice):

    H = −Σ_{i≠j} J S_i·S_j − Σ_{i≠j} D_ij·(S_i×S_j) − Σ_i K (S_i^z)² − Σ_i μ_s B·S_i

on an L×L square lattice with nearest neighbours and D_ij = D r̂_ij (Bloch
DMI). Codes that count each pair once (Spirit) need 2J and 2D. The
reference values are those of the papers (J = 0.03676 mRy, |D| = 0.008824
mRy, K = 0.00735 mRy); μ_s is not in the papers and was calibrated with
this twin (benchmarks/llg_calibration.py, notes in benchmarks/notes/llg.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .defaults import SIZE, T_P
from .errors import LLGInputError
from .units import GAMMA, MU_B

#: Nearest neighbours on the square lattice.
COORDINATION = 4


def _finite(name: str, value: float) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise LLGInputError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(value):
        raise LLGInputError(f"{name} must be finite, got {value}")
    return value


@dataclass(frozen=True)
class LatticeParams:
    """The sample: L×L spins, couplings in meV, moment per spin in μ_B.

    ``periodic`` selects periodic boundaries (default) or open edges
    (missing neighbours simply do not couple).
    """

    L: int = SIZE
    J: float = 0.500
    D: float = 0.120
    K: float = 0.100
    mu_s: float = 0.7
    periodic: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.L, bool) or not isinstance(self.L, (int, np.integer)):
            raise LLGInputError(f"L must be an integer, got {self.L!r}")
        if self.L < 8:
            raise LLGInputError(f"L = {self.L} is too small; use L ≥ 8 (a skyrmion is ~10 spins wide)")
        for name in ("J", "D", "K"):
            _finite(name, getattr(self, name))
        if _finite("mu_s", self.mu_s) <= 0:
            raise LLGInputError(f"mu_s must be > 0 μ_B, got {self.mu_s}")
        object.__setattr__(self, "L", int(self.L))
        object.__setattr__(self, "periodic", bool(self.periodic))

    @property
    def moment(self) -> float:
        """μ_s in meV/T."""
        return self.mu_s * MU_B

    def field_coefficients(self) -> tuple[float, float, float]:
        """(2J/μ_s, 2D/μ_s, 2K/μ_s) in T: the effective-field prefactors."""
        m = self.moment
        return 2 * self.J / m, 2 * self.D / m, 2 * self.K / m

    def internal_field_bound(self) -> float:
        """An upper bound on |B_eff| from J, D, K alone, in T."""
        cj, cd, ck = self.field_coefficients()
        return COORDINATION * (abs(cj) + abs(cd)) + abs(ck)

    def relax_key(self) -> tuple:
        """What the zero-field relaxed state depends on (μ_s only scales time)."""
        return (self.L, self.J, self.D, self.K, self.periodic)


@dataclass(frozen=True)
class Pulse:
    """B(t) = B0·exp(−(t−t_p)²/(2 t_w²))·e_B for t ≥ 0, zero before the trigger.

    B0 in T (sign kept), t_w (Gaussian sigma) and t_p in s, ``theta`` and
    ``phi`` in **radians**: e_B = (sinθ cosφ, sinθ sinφ, cosθ). Use
    :meth:`from_degrees` to give angles in degrees. A pulse is itself a field
    waveform: ``pulse(t)`` returns the (3,) field in T.
    """

    t_w: float
    theta: float
    B0: float = 2.0
    t_p: float = T_P
    phi: float = 0.0

    def __post_init__(self) -> None:
        if _finite("t_w", self.t_w) <= 0:
            raise LLGInputError(f"pulse width t_w must be > 0 s, got {self.t_w}")
        for name in ("theta", "B0", "t_p", "phi"):
            object.__setattr__(self, name, _finite(name, getattr(self, name)))
        object.__setattr__(self, "t_w", float(self.t_w))
        if abs(self.theta) > 2 * math.pi or abs(self.phi) > 2 * math.pi:
            raise LLGInputError(
                f"theta = {self.theta}, phi = {self.phi} look like degrees; "
                "Pulse takes radians (use Pulse.from_degrees)"
            )

    @classmethod
    def from_degrees(cls, t_w: float, theta_deg: float, B0: float = 2.0,
                     t_p: float = T_P, phi_deg: float = 0.0) -> "Pulse":
        """The same pulse with θ and φ given in degrees."""
        return cls(t_w=t_w, theta=math.radians(_finite("theta_deg", theta_deg)), B0=B0,
                   t_p=t_p, phi=math.radians(_finite("phi_deg", phi_deg)))

    @property
    def direction(self) -> np.ndarray:
        """Unit vector e_B, shape (3,)."""
        st = math.sin(self.theta)
        return np.array([st * math.cos(self.phi), st * math.sin(self.phi), math.cos(self.theta)])

    def envelope(self, t) -> np.ndarray:
        """B0·exp(−(t−t_p)²/(2t_w²)) for t ≥ 0, 0 for t < 0; t in s, any shape."""
        t = np.asarray(t, dtype=float)
        env = self.B0 * np.exp(-0.5 * ((t - self.t_p) / self.t_w) ** 2)
        return np.where(t >= 0, env, 0.0)

    def __call__(self, t: float) -> np.ndarray:
        """Field (3,) in T at time t s."""
        return self.envelope(t) * self.direction

    def end_time(self, n_sigma: float = 5.0) -> float:
        """Time after which the pulse is below exp(−n²/2) of its peak, s."""
        return self.t_p + n_sigma * self.t_w

    @property
    def peak_field(self) -> float:
        """|B0| in T."""
        return abs(self.B0)


def precession_rate_bound(params: LatticeParams, field: float) -> float:
    """Upper bound on the spin rotation rate γ|B_eff| in rad/s for |B_ext| ≤ field T."""
    return GAMMA * (params.internal_field_bound() + abs(field))
