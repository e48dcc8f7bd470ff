"""The Spin-NODE network: delay-embedded state, MLP derivative, one RK4 step per sample.

Time is counted in samples (Δ = 1) and values are normalised (zero mean,
unit spread of the training traces) inside the model, so one set of weights
serves nanosecond skyrmion traces and microsecond oscillator traces alike;
:meth:`SpinNODE.predict` converts physical units at the boundary.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn


@dataclass
class NodeMeta:
    """Everything needed to run a trained model besides its weights."""

    observe: str = "y"
    observe_unit: str = ""
    inputs: list[str] = field(default_factory=lambda: ["u"])
    input_units: list[str] = field(default_factory=lambda: [""])
    sample_interval: float = 1.0  # s, the embedding delay Δ and the solver step
    y_mean: float = 0.0
    y_std: float = 1.0
    u_mean: list[float] = field(default_factory=lambda: [0.0])
    u_std: list[float] = field(default_factory=lambda: [1.0])
    y_init: list[float] = field(default_factory=list)  # the device at rest, physical units (k values)
    training_traces: list[str] = field(default_factory=list)  # "file:run_id/record" of every trace used
    interpolation: str = "linear"
    solver: str = "classic RK4, one step per sample"
    history: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class SpinNODE(nn.Module):
    """ds/dt = MLP([s, u(t), u(t+Δ), …, u(t+(k−1)Δ)]) with s the k-delay embedding of y.

    embed: k; n_inputs: m; hidden: n (the MLP is k + k·m → n → n → k, tanh;
    for one input that is the reference 2k → n → n → k). skip: add a linear map of
    the same inputs to the MLP's output (off in the reference; it lets a near-linear
    device be fitted quickly, where tanh units must otherwise all stay unsaturated).
    """

    def __init__(self, embed: int = 2, n_inputs: int = 1, hidden: int = 50, meta: NodeMeta | None = None,
                 skip: bool = False):
        super().__init__()
        if embed < 1 or n_inputs < 1 or hidden < 1:
            raise ValueError(f"embed, n_inputs and hidden must be ≥ 1, got {embed}, {n_inputs}, {hidden}")
        self.embed, self.n_inputs, self.hidden = embed, n_inputs, hidden
        self.net = nn.Sequential(
            nn.Linear(embed + embed * n_inputs, hidden), nn.Tanh(),
            nn.Linear(hidden, hidden), nn.Tanh(),
            nn.Linear(hidden, embed),
        )
        self.skip = bool(skip)
        self.linear = nn.Linear(embed + embed * n_inputs, embed, bias=False) if skip else None
        if self.linear is not None:
            nn.init.zeros_(self.linear.weight)
        self.meta = meta or NodeMeta(inputs=[f"u{i}" for i in range(n_inputs)], input_units=[""] * n_inputs,
                                     u_mean=[0.0] * n_inputs, u_std=[1.0] * n_inputs)

    def config(self) -> dict[str, int]:
        return {"embed": self.embed, "n_inputs": self.n_inputs, "hidden": self.hidden, "skip": self.skip}

    # -- dynamics (normalised units, time in samples) ---------------------------
    def derivative(self, s: torch.Tensor, u_delays: torch.Tensor) -> torch.Tensor:
        """ds/dt for state (B, k) and inputs at the k embedding times (B, k, m)."""
        z = torch.cat([s, u_delays.reshape(s.shape[0], -1)], dim=1)
        return self.net(z) if self.linear is None else self.net(z) + self.linear(z)

    def step(self, s: torch.Tensor, window: torch.Tensor) -> torch.Tensor:
        """One RK4 step of one sample: state (B, k), inputs u[i … i+k] (B, k+1, m) → state at i+1.

        Stage inputs by linear interpolation: samples i…i+k−1, midpoints, samples i+1…i+k.
        """
        k = self.embed
        u0, u1 = window[:, :k], window[:, 1:]
        uh = 0.5 * (u0 + u1)
        k1 = self.derivative(s, u0)
        k2 = self.derivative(s + 0.5 * k1, uh)
        k3 = self.derivative(s + 0.5 * k2, uh)
        k4 = self.derivative(s + k3, u1)
        return s + (k1 + 2 * k2 + 2 * k3 + k4) / 6

    def rollout(self, s0: torch.Tensor, u: torch.Tensor, steps: int | None = None) -> torch.Tensor:
        """States (B, steps+1, k) from s0 (B, k) under inputs u (B, N, m) sampled from the same time.

        Inputs past the end of ``u`` (needed by the last k−1 delays) hold its last value.
        """
        steps = u.shape[1] - 1 if steps is None else steps
        u = pad_inputs(u, steps + self.embed + 1)
        states = [s0]
        s = s0
        for i in range(steps):
            s = self.step(s, u[:, i:i + self.embed + 1])
            states.append(s)
        return torch.stack(states, dim=1)

    def vector_field(self, u: torch.Tensor):
        """f(t, s) for continuous t (samples) on inputs u (B, N, m): for torchdiffeq and the generic RK4."""
        k = self.embed
        n = u.shape[1]
        offsets = torch.arange(k)

        def f(t, s: torch.Tensor) -> torch.Tensor:
            t = float(t)
            i0 = int(np.floor(t + 1e-9))
            w = t - i0
            lo = torch.clamp(i0 + offsets, 0, n - 1)
            hi = torch.clamp(i0 + 1 + offsets, 0, n - 1)
            delays = (1 - w) * u[:, lo] + w * u[:, hi]
            return self.derivative(s, delays)

        return f

    # -- physical units at the boundary -----------------------------------------
    def normalise_y(self, y: np.ndarray) -> np.ndarray:
        return (np.asarray(y, dtype=np.float64) - self.meta.y_mean) / self.meta.y_std

    def normalise_u(self, u: np.ndarray) -> np.ndarray:
        return (np.asarray(u, dtype=np.float64) - np.asarray(self.meta.u_mean)) / np.asarray(self.meta.u_std)

    def predict(self, u: np.ndarray, y0: np.ndarray | None = None) -> np.ndarray:
        """Output (B, N) in physical units for inputs u (N, m), (N,) or (B, N, m) in physical units.

        y0: the first k outputs (k,) or (B, k), physical; default the device at rest
        as seen in training (``meta.y_init``).
        """
        u = np.asarray(u, dtype=np.float64)
        if u.ndim == 1:
            u = u[:, None]
        if u.ndim == 2:
            u = u[None]
        if u.ndim != 3 or u.shape[2] != self.n_inputs:
            raise ValueError(f"inputs must be (N, {self.n_inputs}) or (B, N, {self.n_inputs}), got {u.shape}")
        if not np.all(np.isfinite(u)):
            raise ValueError("inputs contain NaN or inf")
        if y0 is None:
            if len(self.meta.y_init) != self.embed:
                raise ValueError("this model has no rest state stored; give y0 (the first k outputs)")
            y0 = self.meta.y_init
        y0 = np.broadcast_to(np.asarray(y0, dtype=np.float64), (u.shape[0], self.embed))
        dtype = next(self.parameters()).dtype
        s0 = torch.as_tensor(self.normalise_y(y0), dtype=dtype)
        un = torch.as_tensor(self.normalise_u(u), dtype=dtype)
        with torch.no_grad():
            states = self.rollout(s0, un)
        return states[:, :, 0].numpy().astype(np.float64) * self.meta.y_std + self.meta.y_mean


def pad_inputs(u: torch.Tensor, length: int) -> torch.Tensor:
    """u (B, N, m) extended to ``length`` samples by holding its last value."""
    extra = length - u.shape[1]
    if extra <= 0:
        return u
    return torch.cat([u, u[:, -1:].expand(-1, extra, -1)], dim=1)
