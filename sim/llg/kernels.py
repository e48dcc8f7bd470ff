"""The LLG right-hand side and one Heun step on a batch of spin lattices.

Spins are a tensor of shape (B, 3, L, L), component axis 1, then y (rows)
and x (columns); |S_i| = 1. All kernels are pure torch, device-agnostic,
and know nothing of time bookkeeping, fields as functions, or I/O.

Effective field B_eff = −(1/μ_s) ∂H/∂S_i, in T, with every pair counted
twice in H (see :mod:`hil.sim.llg.params`):

    B_ex  = (2J/μ_s) Σ_j S_j
    B_dmi = (2D/μ_s) [(S_{+x} − S_{−x}) × x̂ + (S_{+y} − S_{−y}) × ŷ]
    B_an  = (2K/μ_s) S_z ẑ

Landau–Lifshitz form, per sample damping α and stochastic field b:

    dS/dt = −γ/(1+α²) [S × B + α S × (S × B)],   B = B_eff + B_ext + b

Heun: predictor and corrector see the same b (Stratonovich), and the
corrected spins are renormalised to |S| = 1.
"""

from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F


def _neighbours(S: torch.Tensor, periodic: bool):
    """(S_{+x}, S_{−x}, S_{+y}, S_{−y}) as views of one padded copy; zeros beyond open edges."""
    if periodic:
        P = F.pad(S, (1, 1, 1, 1), mode="circular")
    else:
        P = F.pad(S, (1, 1, 1, 1), mode="constant", value=0.0)
    return P[..., 1:-1, 2:], P[..., 1:-1, :-2], P[..., 2:, 1:-1], P[..., :-2, 1:-1]


def internal_field(S: torch.Tensor, cj: float, cd: float, ck: float, periodic: bool) -> torch.Tensor:
    """Exchange + DMI + anisotropy field (B, 3, L, L) in T; c* = 2X/μ_s in T."""
    xp, xm, yp, ym = _neighbours(S, periodic)
    ex = xp + xm + yp + ym
    dx = xp - xm
    dy = yp - ym
    bx = cj * ex[:, 0] - cd * dy[:, 2]
    by = cj * ex[:, 1] + cd * dx[:, 2]
    bz = cj * ex[:, 2] + cd * (dy[:, 0] - dx[:, 1]) + ck * S[:, 2]
    return torch.stack((bx, by, bz), dim=1)


def increment(S: torch.Tensor, B: torch.Tensor, gdt: torch.Tensor, gadt: torch.Tensor) -> torch.Tensor:
    """dt·dS/dt of the LL equation; gdt = γ dt/(1+α²), gadt = α·gdt, shape (B,1,1,1)."""
    c = torch.linalg.cross(S, B, dim=1)
    return -gdt * c - gadt * torch.linalg.cross(S, c, dim=1)


def heun_step(S, b0, b1, noise, gdt, gadt, coef, periodic: bool):
    """One Heun step with renormalisation.

    S (B,3,L,L); b0, b1 external field at t and t+dt, (B,3,1,1) in T; noise
    the stochastic field (B,3,L,L) in T or None; coef = (2J/μ_s, 2D/μ_s,
    2K/μ_s) as a 1-D tensor (a tensor so a compiled step is not
    specialised on the values).
    """
    cj, cd, ck = coef[0], coef[1], coef[2]
    B0 = internal_field(S, cj, cd, ck, periodic) + b0
    if noise is not None:
        B0 = B0 + noise
    d0 = increment(S, B0, gdt, gadt)
    Sp = S + d0
    B1 = internal_field(Sp, cj, cd, ck, periodic) + b1
    if noise is not None:
        B1 = B1 + noise
    Sn = S + 0.5 * (d0 + increment(Sp, B1, gdt, gadt))
    return Sn / torch.linalg.vector_norm(Sn, dim=1, keepdim=True)


def energy(S: torch.Tensor, J: float, D: float, K: float, moment: float,
           b_ext: torch.Tensor | None, periodic: bool) -> torch.Tensor:
    """Total energy of each lattice, meV, shape (B,). moment = μ_s in meV/T; b_ext (B,3) T."""
    S = S.to(torch.float64)
    xp, _, yp, _ = _neighbours(S, periodic)
    # each bond once here, times 2 for the double count in H
    e_ex = -2 * J * ((S * xp).sum(1) + (S * yp).sum(1)).sum((-2, -1))
    # D_ij·(S_i×S_j) with D_ij = D x̂ (bond +x) and D ŷ (bond +y)
    cx = S[:, 1] * xp[:, 2] - S[:, 2] * xp[:, 1]
    cy = S[:, 2] * yp[:, 0] - S[:, 0] * yp[:, 2]
    e_dmi = -2 * D * (cx + cy).sum((-2, -1))
    e_an = -K * (S[:, 2] ** 2).sum((-2, -1))
    e = e_ex + e_dmi + e_an
    if b_ext is not None:
        e = e - moment * (S.sum((-2, -1)) * b_ext.to(torch.float64)).sum(-1)
    return e


class StepFunction:
    """The Heun step, compiled with torch.compile on request, eager otherwise.

    Compilation fuses the ~60 elementwise operations of a step into a few
    loops (about 4× faster on CPU at L = 100, see benchmarks/notes/llg.md)
    but costs ~10–20 s on first use per shape; if it fails (no C compiler,
    unsupported backend) the step falls back to eager with one warning.
    """

    _compiled = None
    _broken = False

    @classmethod
    def get(cls, compiled: bool):
        if not compiled or cls._broken:
            return heun_step
        if cls._compiled is None:
            # one graph per (B, L, dtype, device, noise on/off, boundary): a sweep
            # meets more than dynamo's default of 8 variants
            cfg = torch._dynamo.config
            cfg.recompile_limit = max(cfg.recompile_limit, 64)
            cls._compiled = torch.compile(heun_step, dynamic=False)
        return cls._compiled

    @classmethod
    def call(cls, compiled: bool, *args):
        fn = cls.get(compiled)
        if fn is heun_step:
            return fn(*args)
        try:
            return fn(*args)
        except Exception as exc:  # compile toolchain missing or backend failure
            cls._broken = True
            warnings.warn(f"torch.compile of the LLG step failed ({type(exc).__name__}: {exc}); "
                          "running eager", RuntimeWarning, stacklevel=3)
            return heun_step(*args)
