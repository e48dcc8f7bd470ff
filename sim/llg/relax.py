"""The initial state: one isolated skyrmion, relaxed from an ansatz, cached.

Core +z, background −z, so that a pulse with a +z component pushes against
the background (without that no switching occurs). The ansatz is a Bloch
profile θ(r) = 2·atan(exp((r − R)/w)) centred on the lattice, with the
helicity (±π/2) of lower energy for the sign of D. It is relaxed by pure
damping, dS/dτ = −S × (S × B_eff) (the α → ∞ limit of LLG, which shares its
fixed points and converges fastest), until the largest torque |S × B_eff|
is below ``tol`` T. Periodic lattices larger than 56 start from the relaxed
48×48 skyrmion embedded in a uniform background, which saves most of the
steps at L = 100.

The zero-field relaxed state does not depend on μ_s (it only scales time
and the field coupling), so the cache key is (L, J, D, K, periodic). The
in-memory cache lasts the process; the disk cache (``.npy`` files under
``$SPIN_HIL_CACHE`` or ``~/.cache/spin-hil/llg``) lasts across runs; pass
``cache_dir=False`` to skip it.
"""

from __future__ import annotations

import hashlib
import math
import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from . import kernels
from .errors import SkyrmionUnstableError
from .observables import energy, topological_charge
from .params import LatticeParams

#: Bump when the ansatz or the relaxation changes, so old disk caches are ignored.
RELAX_VERSION = 2
_MEMORY: dict[tuple, np.ndarray] = {}


def skyrmion_ansatz(L: int, radius: float = 4.0, width: float = 2.0, helicity: float = math.pi / 2,
                    periodic: bool = True, centre: tuple[float, float] | None = None,
                    core: int = 1) -> np.ndarray:
    """A skyrmion profile (3, L, L) float64: core ``core``·z, background −``core``·z."""
    cy, cx = centre if centre is not None else (L / 2, L / 2)
    y, x = np.mgrid[0:L, 0:L].astype(float)
    dx, dy = x - cx, y - cy
    if periodic:
        dx = (dx + L / 2) % L - L / 2
        dy = (dy + L / 2) % L - L / 2
    r = np.hypot(dx, dy)
    theta = 2 * np.arctan(np.exp((r - radius) / width))
    phi = np.arctan2(dy, dx) + helicity
    s = np.stack([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)])
    return s * np.array([1.0, 1.0, core])[:, None, None]


def _cache_file(params: LatticeParams, cache_dir) -> Path | None:
    if cache_dir is False:
        return None
    if cache_dir is None:
        cache_dir = os.environ.get("SPIN_HIL_CACHE") or Path.home() / ".cache" / "spin-hil"
    key = repr((RELAX_VERSION,) + params.relax_key()).encode()
    return Path(cache_dir) / "llg" / f"skyrmion-{hashlib.sha1(key).hexdigest()[:16]}.npy"


def relax(spins: np.ndarray, params: LatticeParams, tol: float = 1e-5, max_steps: int = 200_000,
          dtype=torch.float64, device="cpu") -> tuple[np.ndarray, float, int]:
    """Relax (3, L, L) spins by pure damping at zero field.

    Returns (spins, largest remaining torque in T, steps taken).
    """
    cj, cd, ck = params.field_coefficients()
    coef = torch.tensor([cj, cd, ck], dtype=dtype, device=device)
    S = torch.as_tensor(spins, dtype=dtype, device=device).unsqueeze(0).clone()
    zero = torch.zeros(1, 3, 1, 1, dtype=dtype, device=device)
    # step in units of γ·dt: 0.8 rad at the largest possible field (1.0 converges,
    # 1.5 diverges at the reference parameters)
    gadt = torch.full((1, 1, 1, 1), 0.8 / params.internal_field_bound(), dtype=dtype, device=device)
    gdt = torch.zeros_like(gadt)
    torque = math.inf
    steps = 0
    with torch.inference_mode():
        while steps < max_steps:
            for _ in range(200):
                S = kernels.heun_step(S, zero, zero, None, gdt, gadt, coef, params.periodic)
            steps += 200
            B = kernels.internal_field(S, cj, cd, ck, params.periodic)
            torque = float(torch.linalg.vector_norm(torch.linalg.cross(S, B, dim=1), dim=1).max())
            if torque < tol:
                break
    return S[0].cpu().numpy().astype(np.float64), torque, steps


#: Periodic lattices larger than this start from the relaxed skyrmion of this size
#: embedded in a uniform background (the skyrmion is ~10 spins wide, so the
#: result is the same and relaxation takes a fraction of the steps).
_EMBED_L = 48


def _starting_state(params: LatticeParams, cache_dir, tol: float) -> np.ndarray:
    L = params.L
    if params.periodic and L > _EMBED_L + 8:
        small = relaxed_skyrmion(replace(params, L=_EMBED_L), cache_dir, tol)
        start = np.zeros((3, L, L))
        start[2] = -1.0
        o = L // 2 - _EMBED_L // 2
        start[:, o:o + _EMBED_L, o:o + _EMBED_L] = small
        return start
    radius = min(4.0, L / 6)
    candidates = [skyrmion_ansatz(L, radius, helicity=h, periodic=params.periodic)
                  for h in (math.pi / 2, -math.pi / 2)]
    return min(candidates, key=lambda s: float(energy(s, params)))


def relaxed_skyrmion(params: LatticeParams = LatticeParams(), cache_dir=None,
                     tol: float = 1e-5) -> np.ndarray:
    """One relaxed isolated skyrmion (3, L, L) float64, core +z, background −z.

    Computed once per (L, J, D, K, periodic) and cached (see module
    docstring). With periodic boundaries |Q − 1| < 1e-3; open edges cant and
    Q is ≈ 0.95. Raises :class:`SkyrmionUnstableError` if the relaxed state
    is not a skyrmion (|Q| ≠ 1), e.g. when D is too weak for these J, K.
    """
    key = params.relax_key()
    if key in _MEMORY:
        return _MEMORY[key].copy()
    path = _cache_file(params, cache_dir)
    if path is not None and path.exists():
        spins = np.load(path)
        if spins.shape == (3, params.L, params.L):
            _MEMORY[key] = spins
            return spins.copy()
    spins, torque, steps = relax(_starting_state(params, cache_dir, tol), params, tol=tol)
    q = float(topological_charge(spins, params.periodic))
    # open edges cant and take a few % of the solid angle: Q ≈ 0.95 there
    q_tol = 1e-3 if params.periodic else 0.25
    if abs(q - 1) > q_tol or torque > tol:
        raise SkyrmionUnstableError(
            f"relaxing the skyrmion ansatz for {params} ended with Q = {q:.4f}, "
            f"torque {torque:.2e} T after {steps} steps; no isolated skyrmion is "
            "stable for these J, D, K, L (try a larger L or D/J)")
    _MEMORY[key] = spins
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
            np.save(tmp, spins)
            os.replace(tmp, path)
        except OSError:
            pass  # a read-only home is no reason to fail a simulation
    return spins.copy()

