"""Backpropagation through time on sequential digits, for the oscillator net and the CTRNN.

The reference recipe (an Optuna search in the published work): Adam, batches
of 120, every gradient element clipped to ±1, lr = lr0 / (epoch / lr_decay + 1)
with lr0 = 0.149 and lr_decay = 8.077, log-likelihood loss after the last
step. ``fit`` takes an optional ``states_fn`` so that chip-in-the-loop
training can substitute the chip's readout for the model's in the forward
pass while the gradient still flows through the model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn.functional as F

from hil.models.oscillator_net import LayeredNet


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 100
    batch: int = 120
    lr0: float = 0.149
    lr_decay: float = 8.077
    clip: float = 1.0
    shuffle_seed: int = 0


@dataclass
class History:
    """Per epoch: mean training loss and test accuracy of every ensemble member (E,)."""

    loss: list[list[float]] = field(default_factory=list)
    accuracy: list[list[float]] = field(default_factory=list)


def nll_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Sum over ensemble members of the mean log-likelihood loss; logits (E, B, C)."""
    E, B, C = logits.shape
    per = F.cross_entropy(logits.reshape(E * B, C), labels.repeat(E), reduction="none").view(E, B)
    return per.mean(dim=1).sum()


def learning_rate(epoch: int, cfg: TrainConfig) -> float:
    return cfg.lr0 / (epoch / cfg.lr_decay + 1.0)


@torch.no_grad()
def accuracy(model: LayeredNet, x: torch.Tensor, y: torch.Tensor, batch: int = 1000,
             states_fn: Callable[[torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
    """Fraction correct per ensemble member, (E,)."""
    hits = torch.zeros(model.ensemble)
    for i in range(0, len(y), batch):
        xb = x[i:i + batch]
        h = states_fn(xb) if states_fn is not None else model.forward_states(xb)
        hits += (model.readout(h).argmax(-1) == y[i:i + batch]).float().sum(dim=1)
    return hits / len(y)


def make_optimizer(model: LayeredNet, cfg: TrainConfig) -> torch.optim.Optimizer:
    return torch.optim.Adam(model.parameters(), lr=cfg.lr0)


def train_epoch(model: LayeredNet, opt: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor, epoch: int,
                cfg: TrainConfig, states_fn: Callable[[torch.Tensor], torch.Tensor] | None = None,
                on_batch: Callable[[int, float], None] | None = None) -> torch.Tensor:
    """One epoch of BPTT; returns the mean loss per member (E,).

    ``states_fn(xb)`` returns the last layer's states to use in the forward
    pass (default: the model's own); it must keep the graph to the model.
    """
    for group in opt.param_groups:
        group["lr"] = learning_rate(epoch, cfg)
    gen = torch.Generator().manual_seed(cfg.shuffle_seed * 100003 + epoch)
    order = torch.randperm(len(y), generator=gen)
    total, count = torch.zeros(model.ensemble), 0
    model.train()
    for b, i in enumerate(range(0, len(y), cfg.batch)):
        idx = order[i:i + cfg.batch]
        xb, yb = x[idx], y[idx]
        h = states_fn(xb) if states_fn is not None else model.forward_states(xb)
        logits = model.readout(h)
        loss = nll_loss(logits, yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        for p in model.parameters():
            if p.grad is not None:
                p.grad.clamp_(-cfg.clip, cfg.clip)
        opt.step()
        with torch.no_grad():
            E, B, C = logits.shape
            per = F.cross_entropy(logits.reshape(E * B, C), yb.repeat(E), reduction="none").view(E, B).sum(1)
        total += per
        count += len(yb)
        if on_batch is not None:
            on_batch(b, float(loss))
    return total / count


def fit(model: LayeredNet, data, cfg: TrainConfig = TrainConfig(),
        states_fn: Callable[[torch.Tensor], torch.Tensor] | None = None,
        eval_states_fn: Callable[[torch.Tensor], torch.Tensor] | None = None,
        on_epoch: Callable[[int, torch.Tensor, torch.Tensor], None] | None = None) -> History:
    """Train ``model`` on ``data`` (a :class:`hil.models.digits.Digits`) for ``cfg.epochs`` epochs."""
    opt = make_optimizer(model, cfg)
    hist = History()
    for epoch in range(cfg.epochs):
        loss = train_epoch(model, opt, data.x_train, data.y_train, epoch, cfg, states_fn)
        acc = accuracy(model, data.x_test, data.y_test, states_fn=eval_states_fn)
        hist.loss.append(loss.tolist())
        hist.accuracy.append(acc.tolist())
        if on_epoch is not None:
            on_epoch(epoch, loss, acc)
    return hist


def save_checkpoint(path, model: LayeredNet, opt: torch.optim.Optimizer | None, epoch: int, history: dict) -> None:
    """Write atomically (temp file + rename): a crash mid-write never spoils the last good checkpoint."""
    import os
    from pathlib import Path

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"kind": type(model).__name__, "config": model.config(), "state": model.state_dict(),
                "optimizer": opt.state_dict() if opt is not None else None, "epoch": epoch, "history": history}, tmp)
    os.replace(tmp, path)


def load_checkpoint(path) -> dict:
    """The checkpoint dict, with ``model`` rebuilt from its config and weights."""
    from hil.models.ctrnn import CTRNN
    from hil.models.oscillator_net import OscillatorNet

    ck = torch.load(path, map_location="cpu", weights_only=False)
    kinds = {"OscillatorNet": OscillatorNet, "CTRNN": CTRNN}
    model = kinds[ck["kind"]](**ck["config"])
    model.load_state_dict(ck["state"])
    ck["model"] = model
    return ck
