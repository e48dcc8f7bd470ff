"""Classic fixed-step Runge–Kutta 4, written out so every step exports to ONNX.

torchdiffeq's ``odeint`` cannot be exported (its grid loop and solver
objects are Python control flow); this is the same arithmetic as plain
tensor operations. Global error O(h⁴): halving h divides it by ≈ 16.
"""

from __future__ import annotations

from typing import Callable

import torch

VectorField = Callable[[float, torch.Tensor], torch.Tensor]


def rk4_step(f: VectorField, t: float, s: torch.Tensor, h: float) -> torch.Tensor:
    """One classic RK4 step of ds/dt = f(t, s) from t to t + h."""
    k1 = f(t, s)
    k2 = f(t + h / 2, s + (h / 2) * k1)
    k3 = f(t + h / 2, s + (h / 2) * k2)
    k4 = f(t + h, s + h * k3)
    return s + (h / 6) * (k1 + 2 * k2 + 2 * k3 + k4)


def rk4_solve(f: VectorField, s0: torch.Tensor, t0: float, t1: float, steps: int) -> torch.Tensor:
    """s(t1) from s(t0) with ``steps`` equal RK4 steps."""
    if steps < 1:
        raise ValueError(f"steps must be ≥ 1, got {steps}")
    h = (t1 - t0) / steps
    s = s0
    for i in range(steps):
        s = rk4_step(f, t0 + i * h, s, h)
    return s
