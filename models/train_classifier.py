"""Train and evaluate the skyrmion-process classifier on stored processes.

Training follows the published method: cross-entropy on the label of the
whole process, Adam, 10 % of the training processes held out (stratified)
for early stopping on their loss. The loss is applied at every frame, so
every frame's output is a usable live label (see :mod:`hil.models.classifier`).
Processes whose physics label is not one of the classifier's classes
("mixed") are left out of training; in evaluation they count as correct when
the network answers mixed/unknown.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from hil.labels import PHYSICS, UNKNOWN
from hil.models.classifier_onnx import decide
from hil.models.preprocess import profile
from hil.models.classifier import ClassifierConfig, ProcessClassifier
from hil.models.process_data import Processes


def inputs_of(frames: np.ndarray, kind: str, size: int) -> np.ndarray:
    """(N, T, H, W) frames → (N, T, size) classifier inputs through the one shared preprocessing."""
    n, t = frames.shape[:2]
    return profile(frames.reshape(n * t, *frames.shape[2:]), kind, size).reshape(n, t, size)


def stratified_holdout(labels: list[str], fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Mask of held-out processes: ``fraction`` of each class, at least one where a class has two or more."""
    labels = np.asarray(labels)
    held = np.zeros(len(labels), dtype=bool)
    for lab in np.unique(labels):
        idx = np.flatnonzero(labels == lab)
        k = int(round(fraction * len(idx)))
        if k == 0 and len(idx) >= 2:
            k = 1
        held[rng.choice(idx, size=k, replace=False)] = True
    return held


@dataclass
class TrainResult:
    model: ProcessClassifier
    history: dict[str, list[float]]
    best_epoch: int
    trained_on: dict[str, int]  # processes per class used for training (incl. held-out)


# the seed owns the global torch generator for the run (init and batch order) and gives it back after
@torch.random.fork_rng(devices=[])
def train_classifier(data: Processes, config: ClassifierConfig, epochs: int = 300, lr: float = 1e-3,
                     batch: int = 32, holdout: float = 0.1, patience: int = 50, seed: int = 0,
                     progress: bool = True) -> TrainResult:
    """Fit a :class:`ProcessClassifier` to ``data``; return the model at the lowest held-out loss."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    use = np.array([lab in config.labels for lab in data.labels])
    data = data.subset(use)
    if len(data) < 4:
        raise ValueError(f"only {len(data)} processes carry one of the labels {config.labels}; need more to train")
    x = torch.from_numpy(inputs_of(data.frames, config.preprocessing, config.input_size))
    y = torch.tensor([config.labels.index(lab) for lab in data.labels])
    held = stratified_holdout(data.labels, holdout, rng)
    xt, yt, xv, yv = x[~held], y[~held], x[held], y[held]
    model = ProcessClassifier(config)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    frames = x.shape[1]

    def loss_of(xs, ys):
        logits = model.sequence_logits(xs)
        return loss_fn(logits.reshape(-1, logits.shape[-1]), ys.repeat_interleave(frames))

    history: dict[str, list[float]] = {"train_loss": [], "val_loss": [], "val_accuracy": []}
    best, best_epoch, best_state = float("inf"), 0, None
    bar = range(epochs)
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(bar, desc="classifier", unit="epoch")
    for epoch in bar:
        model.train()
        order = torch.randperm(len(xt))
        total = 0.0
        for start in range(0, len(xt), batch):
            sel = order[start:start + batch]
            opt.zero_grad()
            loss = loss_of(xt[sel], yt[sel])
            loss.backward()
            opt.step()
            total += loss.item() * len(sel)
        model.eval()
        with torch.no_grad():
            val = float(loss_of(xv, yv)) if len(xv) else total / len(xt)
            acc = float((model.sequence_logits(xv)[:, -1].argmax(-1) == yv).float().mean()) if len(xv) else float("nan")
        history["train_loss"].append(total / len(xt))
        history["val_loss"].append(val)
        history["val_accuracy"].append(acc)
        if val < best:
            best, best_epoch = val, epoch
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
        elif epoch - best_epoch >= patience:
            break
        if progress:
            bar.set_postfix(train=f"{total / len(xt):.3f}", val=f"{val:.3f}", acc=f"{acc:.2f}")
    model.load_state_dict(best_state)
    model.config.run_ids = sorted(set(model.config.run_ids) | set(data.run_ids))
    return TrainResult(model.eval(), history, best_epoch, data.counts())


def predict_probs(model: ProcessClassifier, frames: np.ndarray) -> np.ndarray:
    """(N, T, H, W) frames → probabilities at every frame (N, T, classes) from the torch model."""
    cfg = model.config
    x = torch.from_numpy(inputs_of(frames, cfg.preprocessing, cfg.input_size))
    with torch.no_grad():
        return torch.softmax(model.sequence_logits(x), dim=-1).numpy()


def evaluate(final_probs: np.ndarray, physics: list[str], labels: tuple[str, ...], threshold: float) -> dict:
    """Network decisions on the last frame against physics labels: confusion, per-class and overall accuracy.

    Rows: physics label (breathing, switching, collapse, mixed); columns: the
    network's classes then mixed/unknown. A mixed process counts as right
    when the network answers mixed/unknown.
    """
    cols = list(labels) + [UNKNOWN]
    decided = [decide(p, labels, threshold) for p in final_probs]
    confusion = np.zeros((len(PHYSICS), len(cols)), dtype=int)
    for truth, guess in zip(physics, decided):
        confusion[PHYSICS.index(truth), cols.index(guess)] += 1
    per_class = {}
    correct = 0
    for r, truth in enumerate(PHYSICS):
        n = int(confusion[r].sum())
        right = int(confusion[r, cols.index(truth if truth in labels else UNKNOWN)])
        correct += right
        per_class[truth] = {"n": n, "accuracy": right / n if n else float("nan")}
    return {"decided": decided, "confusion": confusion.tolist(), "rows": list(PHYSICS), "columns": cols,
            "per_class": per_class, "accuracy": correct / len(physics) if physics else float("nan")}
