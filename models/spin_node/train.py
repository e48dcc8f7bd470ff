"""Training on random windows, stopping on the error of whole trajectories.

Reference recipe: windows of 20 samples, 50 per batch, Adam at 1e-3, MSE of
the embedded state along each window (rolled out from its first k samples).
Every ``eval_every`` iterations every training trace is rolled out whole
from its first k samples; training stops once that NRMSE is below
``threshold`` (or at ``max_iters`` / ``time_limit``), keeping the best model
seen. Short windows keep gradients tame; the whole-trace check is what the
model is for: predicting long unseen drives open loop.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np
import torch

from hil.models.spin_node.data import Trace, check_traces
from hil.models.spin_node.model import NodeMeta, SpinNODE


@dataclass
class TrainConfig:
    window: int = 20          # samples per training window
    batch: int = 50           # windows per step
    lr: float = 1e-3          # Adam
    lr_final: float | None = None  # decay geometrically to this by max_iters (None: constant, the reference)
    max_iters: int = 20000
    eval_every: int = 250     # iterations between whole-trajectory checks
    threshold: float = 0.02   # stop once the whole-trajectory NRMSE of the training traces is below
    time_limit: float = float("inf")  # s of wall time
    solver: str = "rk4"       # "rk4": the project's step (as exported); "torchdiffeq": odeint(method="rk4")
    seed: int = 0
    double: bool = False      # float64 weights and arithmetic (tight fits; the ONNX export is float32)
    optimizer: str = "adam"   # "adam" (the reference) or "lbfgs" (one fixed batch; fast on small clean problems)
    zero_output: bool = False  # start the MLP's last layer at zero (with skip=True: the model starts linear)
    linear_warmup: int = 0    # lbfgs only, skip=True: first this many L-BFGS iterations on the linear part alone


def nrmse(pred: np.ndarray, true: np.ndarray) -> float:
    """√mean((pred − true)²) / std(true): 0 is perfect, 1 is as good as predicting the mean."""
    pred, true = np.asarray(pred, dtype=np.float64), np.asarray(true, dtype=np.float64)
    return float(np.sqrt(np.mean((pred - true) ** 2)) / np.std(true))


def normalisation(traces: list[Trace]) -> tuple[float, float, list[float], list[float]]:
    y = np.concatenate([t.y for t in traces])
    u = np.concatenate([t.u for t in traces])
    u_std = u.std(axis=0)
    return float(y.mean()), float(y.std() or 1.0), u.mean(axis=0).tolist(), np.where(u_std > 0, u_std, 1.0).tolist()


def predict_traces(model: SpinNODE, traces: list[Trace]) -> list[np.ndarray]:
    """Each trace predicted open loop from its first k outputs, physical units; equal lengths batched."""
    out: dict[int, np.ndarray] = {}
    by_len: dict[int, list[int]] = {}
    for i, t in enumerate(traces):
        by_len.setdefault(len(t.y), []).append(i)
    for idx in by_len.values():
        u = np.stack([traces[i].u for i in idx])
        y0 = np.stack([traces[i].y[:model.embed] for i in idx])
        pred = model.predict(u, y0)
        for j, i in enumerate(idx):
            out[i] = pred[j]
    return [out[i] for i in range(len(traces))]


def traces_nrmse(model: SpinNODE, traces: list[Trace]) -> float:
    pred = predict_traces(model, traces)
    return nrmse(np.concatenate(pred), np.concatenate([t.y for t in traces]))


class _Windows:
    """Random windows of the normalised traces: s0 (B, k), inputs (B, W+k, m), target states (B, W, k)."""

    def __init__(self, model: SpinNODE, traces: list[Trace], window: int, rng: np.random.Generator):
        self.k, self.w, self.rng = model.embed, window, rng
        self.y = [model.normalise_y(t.y) for t in traces]
        self.u = [model.normalise_u(t.u) for t in traces]
        span = window + self.k
        self.starts = [(i, s) for i, y in enumerate(self.y) for s in range(0, len(y) - span + 1)]
        if not self.starts:
            raise ValueError(f"traces shorter than window + embedding ({span} samples)")

    def sample(self, batch: int, dtype) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        pick = self.rng.integers(0, len(self.starts), batch)
        k, w = self.k, self.w
        rows = [self.starts[p] for p in pick]
        emb = np.arange(w)[:, None] + np.arange(k)[None, :]  # (W, k)
        target = np.stack([self.y[i][s + emb] for i, s in rows])
        u = np.stack([self.u[i][s:s + w + k] for i, s in rows])
        return (torch.as_tensor(target[:, 0], dtype=dtype), torch.as_tensor(u, dtype=dtype),
                torch.as_tensor(target, dtype=dtype))


# the seed owns the global torch generator for the run (initial weights) and gives it back after
@torch.random.fork_rng(devices=[])
def train(traces: list[Trace], embed: int = 2, hidden: int = 50, config: TrainConfig | None = None,
          meta: NodeMeta | None = None, progress: Callable[[int, float, float | None], None] | None = None,
          skip: bool = False) -> SpinNODE:
    """Fit a Spin-NODE to ``traces`` (checked here); return the best model, history in ``meta.history``."""
    cfg = config or TrainConfig()
    traces = check_traces(traces, min_points=cfg.window + embed)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    m = traces[0].u.shape[1]
    meta = meta or NodeMeta(inputs=[f"u{i}" for i in range(m)], input_units=[""] * m)
    meta.y_mean, meta.y_std, meta.u_mean, meta.u_std = normalisation(traces)
    meta.sample_interval = traces[0].interval
    meta.y_init = np.mean([t.y[:embed] for t in traces], axis=0).tolist()
    meta.training_traces = [t.source for t in traces]
    model = SpinNODE(embed, m, hidden, meta, skip=skip)
    if cfg.zero_output:
        with torch.no_grad():
            model.net[-1].weight.zero_()
            model.net[-1].bias.zero_()
    dtype = torch.float64 if cfg.double else torch.float32
    model = model.to(dtype)
    windows = _Windows(model, traces, cfg.window, rng)
    if cfg.optimizer == "lbfgs":
        opt = _lbfgs(model.parameters(), max_iter=20)
        fixed = windows.sample(cfg.batch, dtype)
        if cfg.linear_warmup:
            _linear_warmup(model, fixed, cfg)
    elif cfg.optimizer == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    else:
        raise ValueError(f"unknown optimizer {cfg.optimizer!r}; known: adam, lbfgs")
    gamma = (cfg.lr_final / cfg.lr) ** (1 / cfg.max_iters) if cfg.lr_final else 1.0
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma)
    history = {"iteration": [], "loss": [], "trajectory_nrmse": []}

    def evaluate(it: int, loss: float) -> float:
        score = traces_nrmse(model, traces)
        history["iteration"].append(it)
        history["loss"].append(loss)
        history["trajectory_nrmse"].append(score)
        return score

    best = (float("inf"), None, 0)
    t_start = time.perf_counter()
    if cfg.optimizer == "lbfgs" and cfg.linear_warmup:  # the warm start is a candidate too
        best = (evaluate(0, float("nan")), _snapshot(model), 0)
    loss_acc, n_acc = 0.0, 0
    it = 0
    for it in range(1, cfg.max_iters + 1):
        batch = fixed if cfg.optimizer == "lbfgs" else windows.sample(cfg.batch, dtype)
        loss = opt.step(_closure(opt, model, batch, cfg))
        sched.step()
        loss_acc += float(loss.detach())
        n_acc += 1
        score = None
        last = it == cfg.max_iters or time.perf_counter() - t_start > cfg.time_limit
        if it % cfg.eval_every == 0 or last:
            score = evaluate(it, loss_acc / n_acc)
            loss_acc, n_acc = 0.0, 0
            if score < best[0]:
                best = (score, _snapshot(model), it)
        if progress is not None:
            progress(it, float(loss.detach()), score)
        if score is not None and (score < cfg.threshold or last):
            break
    if best[1] is not None:
        model.load_state_dict(best[1])
    meta.history = dict(history, best_trajectory_nrmse=best[0], best_iteration=best[2], iterations=it,
                        seconds=time.perf_counter() - t_start, config=asdict(cfg),
                        stopped="threshold" if best[0] < cfg.threshold else "budget")
    return model


def _linear_warmup(model: SpinNODE, batch, cfg: TrainConfig) -> None:
    """Fit the linear skip map alone on ``batch`` (a near-linear device's bulk; the MLP then fits what is left).

    The whole model at once from a random start stalls on such a device where its linear part is still far off."""
    if model.linear is None:
        raise ValueError("linear_warmup needs a model with the linear skip (skip=True)")
    opt = _lbfgs([model.linear.weight], max_iter=cfg.linear_warmup)
    opt.step(_closure(opt, model, batch, cfg))
    model.zero_grad()


def _lbfgs(params, max_iter: int) -> torch.optim.LBFGS:
    # tolerances far below torch's defaults (1e-7 on the gradient, 1e-9 on the loss change): a good fit
    # has a window MSE of 1e-7 or less, and the defaults end every step there without moving
    return torch.optim.LBFGS(params, lr=1.0, max_iter=max_iter, history_size=50, line_search_fn="strong_wolfe",
                             tolerance_grad=1e-14, tolerance_change=1e-18)


def _closure(opt: torch.optim.Optimizer, model: SpinNODE, batch, cfg: TrainConfig) -> Callable[[], torch.Tensor]:
    """The optimiser's closure: the mean squared error of the window states of ``batch`` (s0, u, target)."""
    s0, u, target = batch

    def closure() -> torch.Tensor:
        opt.zero_grad()
        value = torch.mean((_window_states(model, s0, u, cfg) - target) ** 2)
        value.backward()
        return value

    return closure


def _snapshot(model: SpinNODE) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items()}


def _window_states(model: SpinNODE, s0: torch.Tensor, u: torch.Tensor, cfg: TrainConfig) -> torch.Tensor:
    """States (B, W, k) along each window, from its first state."""
    if cfg.solver == "rk4":
        return model.rollout(s0, u, cfg.window - 1)
    if cfg.solver == "torchdiffeq":
        from torchdiffeq import odeint

        t = torch.arange(cfg.window, dtype=s0.dtype)
        return odeint(lambda tt, s: model.vector_field(u)(tt, s), s0, t, method="rk4").transpose(0, 1)
    raise ValueError(f"unknown solver {cfg.solver!r}; known: rk4, torchdiffeq")
