"""The oscillator chip's digital model: layers of spin-torque auto-oscillators.

Each neuron is an auto-oscillator with normalised power x ∈ [0, 1]::

    dx/dt = −γ x + I(t) x (1 − x),        γ = 1/τ   (time in ns, rates in 1/ns)

Neuron i of layer n is driven by ``I = S (W_ext y^{n−1} + W_int y^n + b) + 2γ``
where y^n is layer n's high-pass filtered power, dy/dt = −2π f_cut y + dx/dt
(f_cut in GHz), and y^{−1} is the input sequence itself. The readout is a
linear map (done in software after the chip's power readout) of the last
layer's high-pass filtered power y after the last input step. (In a trial
here, reading out x itself did not train: x sat at its fixed point for
every image while Adam drove the biases until the neurons died at x = 0.)

Integration: every input step of ``dt`` ns is cut into sub-steps of at most
``max_step`` ns; within a sub-step the drive is held and x advances by the
exact solution of the logistic equation (explicit Euler in ns units leaves
[0, 1]); y advances by the exact solution for x varying linearly over the
sub-step. Every sequence starts from the free-running fixed point (inputs
off, y = 0): x* = 1 − γ/(2γ + S b) — ½ for b = 0 — floored at 10⁻³ (x = 0 is
a fixed point the neuron would never leave). The chip twin resets the same
way, each device with its own γ.

All weights carry a leading *ensemble* axis E: E independently initialised
networks train side by side in one set of tensors (their losses add, Adam
and clipping act element by element, so each member trains exactly as it
would alone). ``forward`` always returns (E, B, n_out).

A seed is a seed: member k of ``ensemble=E, seed=s`` is seed s + k (or
``seeds[k]``), and every random draw of a member — its masks and initial
weights here, its data order in ``hil.models.train`` — comes from a
generator of its own seed, never from a stream shared with other members.
So seed k's network is the same alone, in an ensemble of any size, or
beside any other seeds (tests/test_oscillator_net.py trains it both ways).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
from torch import nn


def logistic_step(x: torch.Tensor, drive: torch.Tensor, gamma: float | torch.Tensor, dt: float) -> torch.Tensor:
    """x after ``dt`` ns of dx/dt = −γx + I x(1−x) at constant I = ``drive`` (1/ns).

    1/x obeys a linear equation, so with a = I − γ and z = a·dt

        x(dt) = x / (e^{−z} + I x (1 − e^{−z})/a)             (z ≥ 0)
              = x e^{z} / (1 + I x (e^{z} − 1)/a)              (z < 0, same thing ×e^{z})

    Written this way nothing overflows, and the denominator is positive for
    every x ∈ [0, 1] and any real I, so x stays in [0, 1]. Same solution as
    ``hil.sim.oscillator.logistic_step`` (numpy, checked equal in tests/test_chip_twin.py).
    """
    z = (drive - gamma) * dt
    az = z.abs()
    small = az < 1e-4
    safe = torch.where(small, torch.ones_like(az), az)
    e = torch.exp(-az)
    g = torch.where(small, 1.0 - 0.5 * az, -torch.expm1(-safe) / safe)  # (1 − e^{−|z|})/|z|
    grow = z >= 0
    num = torch.where(grow, x, x * e)
    den = torch.where(grow, e, torch.ones_like(e)) + drive * dt * g * x
    return num / den.clamp_min(1e-30)  # only x = 0 with e^{−z} underflowed gets here: 0/0 → 0


def check_inputs(inputs: torch.Tensor, n_in: int) -> torch.Tensor:
    """(B, T) or (B, T, n_in) finite float → (B, T, n_in) float32; a clear error otherwise."""
    if not isinstance(inputs, torch.Tensor):
        inputs = torch.as_tensor(np.asarray(inputs))
    if inputs.dim() == 2 and n_in == 1:
        inputs = inputs.unsqueeze(-1)
    if inputs.dim() != 3 or inputs.shape[-1] != n_in:
        raise ValueError(f"drive sequence must have shape (batch, steps) or (batch, steps, {n_in}); got {tuple(inputs.shape)}")
    if inputs.shape[1] < 1:
        raise ValueError("drive sequence has no time steps")
    inputs = inputs.float()
    if not torch.isfinite(inputs).all():
        bad = (~torch.isfinite(inputs)).nonzero()[0].tolist()
        raise ValueError(f"drive sequence contains NaN or inf (first at batch {bad[0]}, step {bad[1]}); clean the data first")
    return inputs


def check_member_inputs(inputs: torch.Tensor, n_in: int, ensemble: int) -> torch.Tensor:
    """Shared (B, T[, n_in]) or per-member (E, B, T, n_in) sequences → (E, B, T, n_in) float32 (a view when shared)."""
    if isinstance(inputs, torch.Tensor) and inputs.dim() == 4:
        if inputs.shape[0] != ensemble:
            raise ValueError(f"per-member drive sequences must have shape ({ensemble}, batch, steps, {n_in}); "
                             f"got {tuple(inputs.shape)}")
        u = check_inputs(inputs.reshape(-1, *inputs.shape[2:]), n_in)
        return u.view(ensemble, -1, *u.shape[1:])
    u = check_inputs(inputs, n_in)
    return u.unsqueeze(0).expand(ensemble, *u.shape)


class LayeredNet(nn.Module):
    """Shared skeleton: masked inter-/intra-layer weights, biases, linear readout.

    Subclasses define the neuron (``_rest``, ``_cell``, ``_readout_state``).
    Masks: W_ext of hidden-to-hidden connections at ``density_ext``, W_int at
    ``density_int`` (both default ``density``); the single input line feeds
    every first-layer neuron. Pruned weights are zero and stay zero (their
    gradient is masked, so Adam never moves them).
    """

    fixed_bias_factor = 0.0  # fixed drive added to every neuron, in units of γ

    def __init__(
        self,
        n_in: int = 1,
        hidden: Sequence[int] = (32, 32, 32),
        n_out: int = 10,
        tau: float = 14.12,
        dt: float = 1.0,
        S: float = 0.5,
        density: float = 0.5,
        density_ext: float | None = None,
        density_int: float | None = None,
        max_step: float = 1.0,
        ensemble: int | None = None,
        seed: int = 0,
        seeds: Sequence[int] | None = None,
    ):
        """``ensemble`` members with seeds ``seed``, ``seed`` + 1, …; or the members' ``seeds`` listed."""
        super().__init__()
        if tau <= 0 or dt <= 0 or max_step <= 0:
            raise ValueError(f"tau, dt and max_step must be > 0 ns; got {tau}, {dt}, {max_step}")
        d_ext = density if density_ext is None else density_ext
        d_int = density if density_int is None else density_int
        for name, d in (("density_ext", d_ext), ("density_int", d_int)):
            if not 0.0 <= d <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {d}")
        self.n_in, self.hidden, self.n_out = int(n_in), tuple(int(h) for h in hidden), int(n_out)
        self.tau, self.gamma, self.dt, self.S, self.max_step = float(tau), 1.0 / float(tau), float(dt), float(S), float(max_step)
        if seeds is None:
            seeds = [int(seed) + k for k in range(1 if ensemble is None else int(ensemble))]
        seeds = [int(s) for s in seeds]
        if not seeds or (ensemble is not None and int(ensemble) != len(seeds)):
            raise ValueError(f"ensemble={ensemble} does not match seeds={seeds}: give one seed per member (at least one)")
        self.density_ext, self.density_int, self.ensemble, self.seed = d_ext, d_int, len(seeds), seeds[0]
        self.seeds = tuple(seeds)
        # one generator per member, each drawing exactly what a solo network of its seed draws
        members = [self._init_member(torch.Generator().manual_seed(s), d_ext, d_int) for s in seeds]
        E = self.ensemble
        self.w_ext, self.w_int, self.bias = nn.ParameterList(), nn.ParameterList(), nn.ParameterList()
        for layer, n in enumerate(self.hidden):
            m_ext, m_int, w_ext, w_int = (torch.stack([m[layer][i] for m in members]) for i in range(4))
            self.register_buffer(f"mask_ext{layer}", m_ext)
            self.register_buffer(f"mask_int{layer}", m_int)
            self.w_ext.append(nn.Parameter(w_ext))
            self.w_int.append(nn.Parameter(w_int))
            self.bias.append(nn.Parameter(torch.zeros(E, 1, n)))
        self.w_out = nn.Parameter(torch.stack([m[-1] for m in members]))
        self.b_out = nn.Parameter(torch.zeros(E, 1, self.n_out))

    def _init_member(self, gen: torch.Generator, d_ext: float, d_int: float) -> list:
        """One member's draws, in a fixed order from its own generator: per layer (mask_ext, mask_int,
        w_ext, w_int), then the readout's w_out. (The order of the former shared stream with E = 1, so
        a solo network of seed s is the one earlier versions built.)"""
        out, fan = [], self.n_in
        for layer, n in enumerate(self.hidden):
            m_ext = torch.ones(n, fan) if layer == 0 else (torch.rand(n, fan, generator=gen) < d_ext).float()
            m_int = (torch.rand(n, n, generator=gen) < d_int).float()
            k = 1.0 / math.sqrt(fan + n)
            w_ext = (torch.rand(n, fan, generator=gen) * 2 - 1) * k * m_ext
            w_int = (torch.rand(n, n, generator=gen) * 2 - 1) * k * m_int
            out.append((m_ext, m_int, w_ext, w_int))
            fan = n
        k = 1.0 / math.sqrt(fan)
        out.append((torch.rand(self.n_out, fan, generator=gen) * 2 - 1) * k)
        return out

    def mask(self, kind: str, layer: int) -> torch.Tensor:
        """The 0/1 mask of ``kind`` ("ext" or "int") weights of ``layer``, (E, out, in)."""
        return getattr(self, f"mask_{kind}{layer}")

    def masked_weights(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """(W_ext · mask, W_int · mask) per layer."""
        return [(self.w_ext[l] * self.mask("ext", l), self.w_int[l] * self.mask("int", l)) for l in range(len(self.hidden))]

    def substeps(self) -> tuple[int, float]:
        """How many integration sub-steps per input step, and their length (ns)."""
        n = max(1, math.ceil(self.dt / self.max_step - 1e-9))
        return n, self.dt / n

    # -- neuron, per subclass ------------------------------------------------
    def _rest(self, layer: int, shape: tuple[int, ...]) -> tuple[torch.Tensor, ...]:
        raise NotImplementedError

    def _cell(self, state: tuple[torch.Tensor, ...], drive: torch.Tensor, h: float) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
        """Advance one neuron state by h ns at constant ``drive``; return (state, output to others)."""
        raise NotImplementedError

    def _readout_state(self, state: tuple[torch.Tensor, ...]) -> torch.Tensor:
        raise NotImplementedError

    # -- forward ---------------------------------------------------------------
    def forward_states(self, inputs: torch.Tensor) -> torch.Tensor:
        """Run the network over the sequence; the last layer's readout state, (E, B, N_last).

        ``inputs``: (B, T[, n_in]), the same sequences for every member, or
        (E, B, T, n_in), each member its own (members with their own data order).
        """
        E, L = self.ensemble, len(self.hidden)
        u = check_member_inputs(inputs, self.n_in, E)
        _, B, T, _ = u.shape
        weights = self.masked_weights()
        fixed = self.fixed_bias_factor * self.gamma
        # the input line's contribution for every step at once: (T, E, B, N0), one product per member
        # (one batched einsum over E sums its weight gradient in an order that depends on E)
        w0 = weights[0][0]
        drive_in = torch.stack([torch.einsum("btk,nk->tbn", u[e], w0[e]) for e in range(E)], dim=1) * self.S
        offsets = [self.S * self.bias[l] + fixed for l in range(L)]
        w_ext = [None] + [self.S * weights[l][0].transpose(1, 2) for l in range(1, L)]
        w_int = [self.S * weights[l][1].transpose(1, 2) for l in range(L)]
        states = [self._rest(l, (E, B, n)) for l, n in enumerate(self.hidden)]
        outs = [torch.zeros(E, B, n) for n in self.hidden]
        nsub, h = self.substeps()
        for t in range(T):
            for _ in range(nsub):
                below = None
                for l in range(L):
                    if l == 0:
                        drive = torch.baddbmm(offsets[0] + drive_in[t], outs[0], w_int[0])
                    else:
                        drive = torch.baddbmm(torch.baddbmm(offsets[l], below, w_ext[l]), outs[l], w_int[l])
                    states[l], outs[l] = self._cell(states[l], drive, h)
                    below = outs[l]
        return self._readout_state(states[-1])

    def readout(self, h: torch.Tensor) -> torch.Tensor:
        """Linear readout (software) of the last layer's state: (E, B, N) → logits (E, B, n_out)."""
        return torch.baddbmm(self.b_out, h, self.w_out.transpose(1, 2))

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Logits (E, B, n_out) after the last input step."""
        return self.readout(self.forward_states(inputs))

    def config(self) -> dict:
        """Constructor arguments (for checkpoints)."""
        return dict(n_in=self.n_in, hidden=list(self.hidden), n_out=self.n_out, tau=self.tau, dt=self.dt, S=self.S,
                    density_ext=self.density_ext, density_int=self.density_int, max_step=self.max_step,
                    ensemble=self.ensemble, seed=self.seed, seeds=list(self.seeds))


class OscillatorNet(LayeredNet):
    """Layers of spin-torque auto-oscillators with high-pass coupling; see the module docstring.

    ``f_cut`` is the high-pass cut-off in GHz (time in ns): 0.045 GHz = 45 MHz
    or more is needed (DESIGN.md: 11 MHz loses 6 points, 2.8 MHz learns nothing).
    """

    fixed_bias_factor = 2.0

    def __init__(self, *args, f_cut: float = 0.045, **kwargs):
        super().__init__(*args, **kwargs)
        if not f_cut > 0:
            raise ValueError(f"high-pass cut-off f_cut must be > 0 GHz, got {f_cut}")
        self.f_cut = float(f_cut)
        self.x_floor = 1e-3  # thermal floor: a neuron at rest never sits exactly at x = 0

    def _rest(self, layer, shape):
        # inputs off, y = 0: the free-running drive is 2γ + S b; its fixed point, floored
        free = self.fixed_bias_factor * self.gamma + self.S * self.bias[layer]
        x = torch.where(free > 0, 1.0 - self.gamma / torch.where(free > 0, free, torch.ones_like(free)), torch.zeros_like(free))
        return (x.clamp(min=self.x_floor).expand(shape), torch.zeros(shape))

    def _cell(self, state, drive, h):
        x, y = state
        w = 2 * math.pi * self.f_cut * h
        x1 = logistic_step(x, drive, self.gamma, h)
        y1 = y * math.exp(-w) + (x1 - x) * (-math.expm1(-w) / w)
        return (x1, y1), y1

    def _readout_state(self, state):
        return state[1]  # the high-pass filtered power, as the next layer would see it

    def highpass_of_trace(self, x_trace: torch.Tensor) -> torch.Tensor:
        """y after the last step from a measured power trace x, (..., T+1, N) → (..., N).

        The trace holds x at rest (index 0) and after every input step, as the
        chip's readout delivers it; y is the same high-pass the model applies
        between layers, evaluated in software. Equal to the model's own y when
        one input step is one integration sub-step (dt ≤ max_step).
        """
        x_trace = torch.as_tensor(x_trace, dtype=torch.float32)
        T = x_trace.shape[-2] - 1
        w = 2 * math.pi * self.f_cut * self.dt
        powers = torch.arange(T - 1, -1, -1, dtype=torch.float32)
        weights = torch.exp(-w * powers) * (-math.expm1(-w) / w)
        return (x_trace.diff(dim=-2) * weights[:, None]).sum(dim=-2)

    def config(self) -> dict:
        return dict(super().config(), f_cut=self.f_cut)

    def chip_program(self, member: int = 0) -> dict:
        """What a chip needs to run member ``member``: masked weights and biases as numpy, and the constants.

        Units: weights dimensionless, biases 1/ns, times ns, f_cut GHz. The
        readout layer stays in software and is not part of the program.
        """
        with torch.no_grad():
            ws = self.masked_weights()
            return {
                "w_ext": [w[member].double().numpy().copy() for w, _ in ws],
                "w_int": [w[member].double().numpy().copy() for _, w in ws],
                "bias": [b[member, 0].double().numpy().copy() for b in self.bias],
                "tau": self.tau, "dt": self.dt, "S": self.S, "f_cut": self.f_cut, "max_step": self.max_step,
                "fixed_bias_factor": self.fixed_bias_factor,
            }


class _ChipInTheLoop(torch.autograd.Function):
    """Forward: the chip's value. Backward: the gradient passes to the model's value unchanged."""

    @staticmethod
    def forward(ctx, h_model: torch.Tensor, h_chip: torch.Tensor) -> torch.Tensor:
        return h_chip.clone()

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return grad, None


def chip_in_the_loop(h_model: torch.Tensor, h_chip: torch.Tensor) -> torch.Tensor:
    """The loss sees the chip, the gradient comes from the model.

    Same as ``h_model + (h_chip − h_model).detach()``, as an autograd function:
    ``h_chip`` is measured (no graph), ``h_model`` is the digital model's
    prediction at the same inputs and parameters.
    """
    if h_model.shape != h_chip.shape:
        raise ValueError(f"chip readout has shape {tuple(h_chip.shape)}, the model's {tuple(h_model.shape)}")
    if not torch.isfinite(h_chip).all():
        raise ValueError("chip readout contains NaN or inf; check the readout chain")
    return _ChipInTheLoop.apply(h_model, h_chip.detach().to(h_model.dtype))
