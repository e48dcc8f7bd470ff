"""Observables of spin lattices: topological charge, magnetisation, energy.

Each takes spins of shape (3, L, L) or (B, 3, L, L), numpy or torch, and
returns numpy float64 (a scalar for one lattice, shape (B,) for a batch).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from . import kernels
from .params import LatticeParams


def _as_batch(spins) -> tuple[torch.Tensor, bool]:
    t = spins if isinstance(spins, torch.Tensor) else torch.as_tensor(np.asarray(spins))
    single = t.dim() == 3
    if single:
        t = t.unsqueeze(0)
    if t.dim() != 4 or t.shape[1] != 3:
        raise ValueError(f"spins must have shape (3, L, L) or (B, 3, L, L), got {tuple(t.shape)}")
    return t.to(torch.float64), single


def _out(x: torch.Tensor, single: bool):
    x = x.detach().cpu().numpy()
    return x[0] if single else x


def _solid_angle(a, b, c):
    """Berg–Lüscher signed solid angle of the spherical triangle (a, b, c), along axis 1."""
    num = (a * torch.linalg.cross(b, c, dim=1)).sum(1)
    den = 1 + (a * b).sum(1) + (b * c).sum(1) + (c * a).sum(1)
    return 2 * torch.atan2(num, den)


def topological_charge(spins, periodic: bool = True):
    """Q = Σ Ω / 4π over two triangles per plaquette (Berg–Lüscher).

    Plaquette corners a = S(x, y), b = S(x+1, y), c = S(x+1, y+1),
    d = S(x, y+1); triangles (a, b, c) and (a, c, d), counter-clockwise.
    Open boundaries use the (L−1)² interior plaquettes only. A skyrmion with
    core +z in a −z background has Q = +1 here, its reversed image Q = −1.
    """
    S, single = _as_batch(spins)
    if periodic:
        b = torch.roll(S, -1, dims=-1)
        d = torch.roll(S, -1, dims=-2)
        c = torch.roll(b, -1, dims=-2)
        a = S
    else:
        a = S[..., :-1, :-1]
        b = S[..., :-1, 1:]
        c = S[..., 1:, 1:]
        d = S[..., 1:, :-1]
    omega = _solid_angle(a, b, c) + _solid_angle(a, c, d)
    return _out(omega.sum((-2, -1)) / (4 * math.pi), single)


def magnetisation(spins):
    """Mean spin M = ⟨S⟩ over the lattice, shape (3,) or (B, 3)."""
    S, single = _as_batch(spins)
    return _out(S.mean((-2, -1)), single)


def energy(spins, params: LatticeParams, field=None):
    """Total energy of H in meV (see :mod:`hil.sim.llg.params`); ``field`` (3,) or (B, 3) T."""
    S, single = _as_batch(spins)
    b = None
    if field is not None:
        b = torch.as_tensor(np.asarray(field, dtype=float)).reshape(-1, 3).to(S.device)
    e = kernels.energy(S, params.J, params.D, params.K, params.moment, b, params.periodic)
    return _out(e, single)
