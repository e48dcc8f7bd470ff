"""Backpropagation through time on sequential digits, for the oscillator net and the CTRNN.

The reference recipe (an Optuna search in the published work): Adam, batches
of 120, every gradient element clipped to ±1, lr = lr0 / (epoch / lr_decay + 1)
with lr0 = 0.149 and lr_decay = 8.077, log-likelihood loss after the last
step. ``fit`` takes an optional ``states_fn`` so that chip-in-the-loop
training can substitute the chip's readout for the model's in the forward
pass while the gradient still flows through the model.

Data order is per seed: each epoch, ensemble member k draws its batch order
from a generator of its own seed (``model.seeds[k]``) and the epoch, so seed
k meets the same batches alone or beside any other seeds, and the order is
the one ``hil train oscillator-net --seed k`` uses. ``shuffle_seed`` fixes
one order for every member instead (what one chip measuring every member on
the same inputs needs).
"""

from __future__ import annotations

import json
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
    shuffle_seed: int | None = None  # None: each member's own seed; an int: one order for all members


@dataclass
class History:
    """Per epoch: mean training loss and test accuracy of every ensemble member (E,)."""

    loss: list[list[float]] = field(default_factory=list)
    accuracy: list[list[float]] = field(default_factory=list)


def _member_labels(labels: torch.Tensor, E: int) -> torch.Tensor:
    """Labels shared (B,) or per member (E, B) → flat (E·B,)."""
    return labels.reshape(-1) if labels.dim() == 2 else labels.repeat(E)


def nll_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Sum over ensemble members of the mean log-likelihood loss; logits (E, B, C), labels (B,) or (E, B)."""
    E, B, C = logits.shape
    per = F.cross_entropy(logits.reshape(E * B, C), _member_labels(labels, E), reduction="none").view(E, B)
    return per.mean(dim=1).sum()


def epoch_orders(model: LayeredNet, n: int, epoch: int, cfg: TrainConfig) -> torch.Tensor:
    """The batch order of every member in ``epoch``, (E, n): each from its own seed's generator
    (or all from ``cfg.shuffle_seed`` when set), never from a stream shared between members."""
    seeds = [cfg.shuffle_seed] * model.ensemble if cfg.shuffle_seed is not None else list(model.seeds)
    return torch.stack([torch.randperm(n, generator=torch.Generator().manual_seed(s * 100003 + epoch)) for s in seeds])


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
    When the members' orders differ, xb holds each member's own batch,
    (E, B, T[, n_in]). A ``states_fn`` (one chip measuring every member on
    the same inputs) gets one shared (B, T) batch: the members then all take
    the order of ``cfg.shuffle_seed``, or of the first member's seed when it
    is None — per seed only for a one-member model (as ``ChipTrainer`` runs).
    """
    for group in opt.param_groups:
        group["lr"] = learning_rate(epoch, cfg)
    orders = epoch_orders(model, len(y), epoch, cfg)
    if states_fn is not None:
        orders = orders[:1].expand_as(orders)
    shared = bool((orders == orders[:1]).all())
    total, count = torch.zeros(model.ensemble), 0
    model.train()
    for b, i in enumerate(range(0, len(y), cfg.batch)):
        idx = orders[0, i:i + cfg.batch] if shared else orders[:, i:i + cfg.batch]
        xb, yb = x[idx], y[idx]
        if not shared and xb.dim() == 3:  # (E, B, T) pixel sequences: one input line
            xb = xb.unsqueeze(-1)
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
            per = F.cross_entropy(logits.reshape(E * B, C), _member_labels(yb, E), reduction="none").view(E, B).sum(1)
        total += per
        count += B
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
    """Write atomically (temp file + rename): a crash mid-write never spoils the last good checkpoint.

    The checkpoint is plain data only (dicts, lists, numbers, strings, tensors),
    so :func:`load_checkpoint` reads it with ``weights_only=True``.
    """
    import os
    from pathlib import Path

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    plain = json.loads(json.dumps({"config": model.config(), "history": history}, default=_plain))
    torch.save({"format": CHECKPOINT_FORMAT, "kind": type(model).__name__, "config": plain["config"],
                "state": model.state_dict(), "optimizer": opt.state_dict() if opt is not None else None,
                "epoch": int(epoch), "history": plain["history"]}, tmp)
    os.replace(tmp, path)


#: Tag of the plain-data checkpoint (``weights_only`` loadable).
CHECKPOINT_FORMAT = "spin-hil-checkpoint/1"


def _plain(value):
    """JSON fallback for numpy scalars and arrays in a config or history."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"checkpoint field of type {type(value).__name__} is not plain data")


def load_checkpoint(path) -> dict:
    """The checkpoint dict, with ``model`` rebuilt from its config and weights.

    Data only: ``torch.load(..., weights_only=True)`` unpickles nothing but
    tensors and plain containers, so a checkpoint file someone hands you
    cannot run code; one that tries is refused with :class:`HilError`.
    """
    import pickle

    from hil.errors import HilError
    from hil.models.ctrnn import CTRNN
    from hil.models.oscillator_net import OscillatorNet

    try:
        ck = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, AttributeError, TypeError, ValueError, EOFError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise HilError(f"{path}: not a data-only spin-hil checkpoint, refused without running it ({first})") from None
    kinds = {"OscillatorNet": OscillatorNet, "CTRNN": CTRNN}
    if not isinstance(ck, dict) or ck.get("kind") not in kinds or not isinstance(ck.get("config"), dict):
        raise HilError(f"{path}: not a spin-hil checkpoint (expected a dict with kind in {sorted(kinds)} and config)")
    model = kinds[ck["kind"]](**ck["config"])
    model.load_state_dict(ck["state"])
    ck["model"] = model
    return ck
