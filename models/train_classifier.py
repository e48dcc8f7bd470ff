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

from hil.labels import CLASSES, MIXED, PHYSICS, UNKNOWN, agrees
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
                     progress: bool = True, class_weight: dict[str, float] | None = None) -> TrainResult:
    """Fit a :class:`ProcessClassifier` to ``data``; return the model at the lowest held-out loss.

    ``class_weight``: loss weight per label (default 1). Weighing "mixed" below
    1 keeps a clear process from being called mixed when the two look alike
    (the switching and mixed processes of a diagram do up to 105 ps).
    """
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
    unknown = set(class_weight or {}) - set(config.labels)
    if unknown:
        raise ValueError(f"class_weight names {sorted(unknown)}, not among the labels {config.labels}")
    weight = torch.tensor([float((class_weight or {}).get(c, 1.0)) for c in config.labels])
    loss_fn = nn.CrossEntropyLoss(weight=weight)
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
    network's classes (with "mixed" when it learnt a fourth class) then
    mixed/unknown. A physics-mixed process counts as right when the network
    answers mixed or mixed/unknown (:func:`hil.labels.agrees`).
    """
    cols = list(labels) + [UNKNOWN]
    decided = [decide(p, labels, threshold) for p in final_probs]
    confusion = np.zeros((len(PHYSICS), len(cols)), dtype=int)
    for truth, guess in zip(physics, decided):
        confusion[PHYSICS.index(truth), cols.index(guess)] += 1
    clear = tuple(c for c in labels if c != MIXED)
    per_class = {}
    correct = 0
    for r, truth in enumerate(PHYSICS):
        n = int(confusion[r].sum())
        right = int(sum(confusion[r, c] for c, col in enumerate(cols) if agrees(col, truth, clear)))
        correct += right
        per_class[truth] = {"n": n, "right": right, "accuracy": right / n if n else float("nan")}
    n_clear = sum(per_class[c]["n"] for c in CLASSES)
    return {"decided": decided, "confusion": confusion.tolist(), "rows": list(PHYSICS), "columns": cols,
            "per_class": per_class, "accuracy": correct / len(physics) if physics else float("nan"),
            "clear_accuracy": sum(per_class[c]["right"] for c in CLASSES) / n_clear if n_clear else float("nan"),
            "mixed_flagged": per_class[MIXED]["accuracy"]}


def out_of_fold_probs(data: Processes, config: ClassifierConfig, folds: int = 5, seed: int = 0,
                      **train_kw) -> np.ndarray:
    """Final-frame probabilities of every process from a model that never saw it (``folds``-fold, stratified).

    What a threshold is calibrated on: a model's confidence on its own
    training processes is higher than on new ones.
    """
    rng = np.random.default_rng(seed)
    fold_of = np.zeros(len(data), dtype=int)
    for lab in np.unique(data.labels):
        idx = rng.permutation(np.flatnonzero(np.asarray(data.labels) == lab))
        fold_of[idx] = np.arange(len(idx)) % folds
    probs = np.full((len(data), len(config.labels)), np.nan)
    for k in range(folds):
        cfg = ClassifierConfig(**{**config.__dict__, "run_ids": []})
        res = train_classifier(data.subset(fold_of != k), cfg, seed=seed + k, progress=False, **train_kw)
        probs[fold_of == k] = predict_probs(res.model, data.subset(fold_of == k).frames)[:, -1]
    return probs


def calibrate_threshold(probs: np.ndarray, physics: list[str], labels: tuple[str, ...],
                        min_clear: float = 0.97) -> tuple[float, dict]:
    """The decision threshold that flags the most physics-mixed processes while ``min_clear`` of the clear ones stay right.

    ``probs``: out-of-fold final probabilities (:func:`out_of_fold_probs`). The
    score is the top softmax probability (below the threshold: unknown).
    When no threshold keeps ``min_clear``, the one with the best balanced
    score (clear right + mixed flagged) is taken instead; the result's
    ``rule`` says which. Ties go to the lower threshold (fewer clear processes lost).
    """
    scored = []
    for tau in np.round(np.arange(0.3, 0.996, 0.01), 2):
        ev = evaluate(probs, physics, labels, float(tau))
        scored.append((float(tau), ev))
    ok = [(t, e) for t, e in scored if e["clear_accuracy"] >= min_clear]
    if ok:
        tau, ev = max(ok, key=lambda te: (te[1]["mixed_flagged"], -te[0]))
        rule = f"most mixed flagged with clear right >= {min_clear:g}"
    else:
        tau, ev = max(scored, key=lambda te: (te[1]["clear_accuracy"] + te[1]["mixed_flagged"], -te[0]))
        rule = f"no threshold keeps {min_clear:g} of clear processes right: best clear right + mixed flagged"
    return tau, {**{k: v for k, v in ev.items() if k != "decided"}, "rule": rule}
