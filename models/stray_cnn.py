"""Stray-field CNN: a B_z map (scaled, lengths in units of d) → the magnetisation that made it.

The reference architecture: three branches at full, half and quarter
resolution, each a stack of 3 × 3 convolutions, upsampled and summed, then
1 × 1 convolutions. Input: b = −4π d B_z / (μ0 M_s t) on a 32 × 32 grid of
pixel d/2 (see ``hil.sim.stray``). Output, two maps: the amplitude |m| ∈ [0, 1]
(sigmoid) and m_z = |m| cos θ ∈ [−1, 1] (tanh) — the second target carries
the direction θ = arccos(m_z / |m|) where the film is magnetic. Loss: the sum
of the two MSEs; the figure quoted against the published 9.55e-4 is the
amplitude MSE on the validation set.

The training data's symmetry group (rotations by 90° and mirror images of the
whole configuration leave the scalar maps b, |m|, m_z consistent) is used as
free augmentation.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from hil.errors import InputDataError


def _branch(channels: int, depth: int, width: int) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(1, channels, 3, padding=1), nn.ReLU()]
    for _ in range(depth - 2):
        layers += [nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU()]
    layers.append(nn.Conv2d(channels, width, 3, padding=1))
    return nn.Sequential(*layers)


@dataclass(frozen=True)
class CNNConfig:
    """Sizes of the network; ``input_scale`` divides b so the input is of order 1."""

    channels: tuple[int, int, int] = (16, 48, 64)  # full, half, quarter resolution
    depth: int = 4                                  # 3 × 3 convolutions per branch
    width: int = 32                                 # channels where the branches are summed
    head: int = 48                                  # 1 × 1 convolutions after the sum
    input_scale: float = 0.5


class StrayFieldCNN(nn.Module):
    """(N, 1, H, W) scaled B_z → (N, 2, H, W): amplitude |m| and m_z. H, W divisible by 4."""

    def __init__(self, config: CNNConfig = CNNConfig()):
        super().__init__()
        self.config = config
        c1, c2, c3 = config.channels
        self.branch_full = _branch(c1, config.depth, config.width)
        self.branch_half = _branch(c2, config.depth, config.width)
        self.branch_quarter = _branch(c3, config.depth, config.width)
        self.head = nn.Sequential(nn.ReLU(), nn.Conv2d(config.width, config.head, 1), nn.ReLU(),
                                  nn.Conv2d(config.head, config.head, 1), nn.ReLU(), nn.Conv2d(config.head, 2, 1))
        self.register_buffer("inv_scale", torch.tensor(1.0 / config.input_scale))

    def forward(self, b: torch.Tensor) -> torch.Tensor:
        x = b * self.inv_scale
        s = self.branch_full(x)
        s = s + F.interpolate(self.branch_half(F.avg_pool2d(x, 2)), scale_factor=2.0, mode="bilinear", align_corners=False)
        s = s + F.interpolate(self.branch_quarter(F.avg_pool2d(x, 4)), scale_factor=4.0, mode="bilinear", align_corners=False)
        out = self.head(s)
        return torch.cat([torch.sigmoid(out[:, :1]), torch.tanh(out[:, 1:])], dim=1)


@dataclass
class TrainConfig:
    epochs: int = 40
    batch: int = 32
    lr: float = 2e-3
    weight_decay: float = 0.0
    seed: int = 0
    noise: float = 0.0        # rms Gaussian noise added to b during training (scaled units)
    augment: bool = True      # the 8 rotations / mirror images
    cnn: CNNConfig = field(default_factory=CNNConfig)


@dataclass
class Dataset:
    """Arrays of one split: b (N, H, W), amplitude (N, H, W), mz (N, H, W), theta (N,)."""

    b: np.ndarray
    amplitude: np.ndarray
    mz: np.ndarray
    theta: np.ndarray


def load_dataset(store_path: str | Path, run_id: str | None = None) -> tuple[Dataset, Dataset, dict]:
    """(train, val, run params) from a stray-field run of an HDF5 store (the newest complete one by default)."""
    from hil.store import Store

    with Store(store_path, "r") as store:
        ids = [i for i in store.run_ids()
               if store.run(i).attrs["protocol"] == "stray-field-shapes" and store.run(i).status == "complete"]
        if run_id is None:
            if not ids:
                raise InputDataError(f"{store_path}: no complete stray-field data set; "
                                           "generate one with `hil train stray-field --data FILE`")
            run_id = ids[-1]
        run = store.run(run_id)
        params = run.attrs["params"]
        records = list(run.records())
        arrays = {k: np.concatenate([np.asarray(r[k]) for r in records])
                  for k in ("bz", "amplitude", "mz", "theta", "index")}
    order = np.argsort(arrays["index"])
    arrays = {k: v[order] for k, v in arrays.items()}
    n_train = int(params["n_train"])
    split = [Dataset(arrays["bz"][s], arrays["amplitude"][s], arrays["mz"][s], arrays["theta"][s])
             for s in (slice(0, n_train), slice(n_train, None))]
    return split[0], split[1], dict(params, run_id=run_id)


def _dihedral(x: torch.Tensor, k: int) -> torch.Tensor:
    """One of the 8 symmetries of the square on the last two axes."""
    x = torch.rot90(x, k % 4, dims=(-2, -1))
    return torch.flip(x, dims=(-1,)) if k >= 4 else x


@torch.no_grad()
def predict(model: nn.Module, b: np.ndarray, batch: int = 256) -> np.ndarray:
    """(N, H, W) scaled fields → (N, 2, H, W) predictions (amplitude, m_z), float32."""
    model.eval()
    x = torch.as_tensor(np.asarray(b, dtype=np.float32))[:, None]
    return torch.cat([model(x[i:i + batch]) for i in range(0, len(x), batch)]).numpy()


def evaluate(pred: np.ndarray, data: Dataset) -> dict[str, float]:
    """MSE of amplitude and m_z, and the mean |θ error| (degrees) over pixels with |m| > 0.9."""
    mse_amp = float(np.mean((pred[:, 0] - data.amplitude) ** 2))
    mse_mz = float(np.mean((pred[:, 1] - data.mz) ** 2))
    inside = data.amplitude > 0.9
    ratio = np.clip(pred[:, 1] / np.maximum(pred[:, 0], 1e-6), -1, 1)
    theta = np.degrees(np.arccos(ratio))
    truth = np.degrees(np.broadcast_to(data.theta[:, None, None], theta.shape))
    theta_err = float(np.mean(np.abs(theta - truth)[inside])) if inside.any() else float("nan")
    return {"mse_amplitude": mse_amp, "mse_mz": mse_mz, "theta_error_deg": theta_err}


# the seed owns the global torch generator for the run (initial weights) and gives it back after
@torch.random.fork_rng(devices=[])
def train(train_set: Dataset, val_set: Dataset, config: TrainConfig = TrainConfig(),
          on_epoch: Callable[[int, dict], None] | None = None) -> tuple[StrayFieldCNN, list[dict]]:
    """Adam with a cosine learning-rate schedule; returns the model of the best validation epoch and the history."""
    torch.manual_seed(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    model = StrayFieldCNN(config.cnn)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    steps = config.epochs * math.ceil(len(train_set.b) / config.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=config.lr, total_steps=max(steps, 1), pct_start=0.1)
    x = torch.as_tensor(train_set.b, dtype=torch.float32)[:, None]
    y = torch.as_tensor(np.stack([train_set.amplitude, train_set.mz], axis=1), dtype=torch.float32)
    history: list[dict] = []
    best, best_state = math.inf, None
    for epoch in range(config.epochs):
        start = time.perf_counter()
        model.train()
        perm = torch.randperm(len(x), generator=gen)
        total = 0.0
        for i in range(0, len(x), config.batch):
            idx = perm[i:i + config.batch]
            xb, yb = x[idx], y[idx]
            if config.augment:
                k = int(torch.randint(8, (1,), generator=gen))
                xb, yb = _dihedral(xb, k), _dihedral(yb, k)
            if config.noise > 0:
                xb = xb + config.noise * torch.randn(xb.shape, generator=gen)
            loss = F.mse_loss(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        metrics = evaluate(predict(model, val_set.b), val_set)
        rec = {"epoch": epoch, "train_loss": total / len(x), **metrics, "seconds": time.perf_counter() - start}
        history.append(rec)
        if metrics["mse_amplitude"] < best:
            best = metrics["mse_amplitude"]
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
        if on_epoch is not None:
            on_epoch(epoch, rec)
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return model, history


def save_checkpoint(model: StrayFieldCNN, path: str | Path, extra: dict | None = None) -> Path:
    """State dict plus the configuration, so :func:`load_checkpoint` rebuilds the same network."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"config": asdict(model.config), "state": model.state_dict(), "extra": extra or {}}, path)
    return path


def load_checkpoint(path: str | Path) -> StrayFieldCNN:
    blob = torch.load(Path(path), map_location="cpu", weights_only=True)
    cfg = dict(blob["config"])
    cfg["channels"] = tuple(cfg["channels"])
    model = StrayFieldCNN(CNNConfig(**cfg))
    model.load_state_dict(blob["state"])
    return model.eval()
