"""The skyrmion-process classifier: a recurrent net on the sorted S_z profile.

Reference (the published method): input the sorted S_z of every spin, one
recurrent layer of 512 sigmoid units, softmax over breathing / switching /
collapse; no class above 0.8 means "mixed / unknown". Beyond it: "mixed" as a
fourth class (:data:`LABELS_WITH_MIXED`), trained on a diagram's mixed points. Also: the same net
on N quantiles of the sorted profile (``hil.models.preprocess.profile``), so one model
serves any lattice size.

The net is written as a single step, (x, h) → (probs, h'), because that is
what runs online and what exports cleanly to ONNX (a whole ``nn.RNN`` exported
by dynamo freezes the sequence length). Training applies the cross-entropy of
the process label at every frame, so every frame's output is a usable live
label; frames before the pulse can only stay uncertain, which is the honest
answer.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from hil.labels import CLASSES, MIXED, UNKNOWN  # noqa: F401 — UNKNOWN re-exported with the decision rule
from hil.models.classifier_onnx import decide  # noqa: F401 — one decision rule, re-exported

LABELS = CLASSES
#: Beyond the paper: "mixed" learnt as a fourth class from a diagram's mixed points (issue 15). The
#: paper's rule (no class ≥ 0.8 → unknown) never flagged a mixed process at L = 100: they sit between
#: regions and the 3-class net calls them breathing or switching with confidence ≥ 0.8.
LABELS_WITH_MIXED = CLASSES + (MIXED,)
THRESHOLD = 0.8


@dataclass
class ClassifierConfig:
    """What a trained classifier needs to be rebuilt and fed correctly."""

    preprocessing: str = "quantiles"  # or "sorted"
    input_size: int = 256  # quantiles, or H·W for "sorted"
    hidden: int = 512
    labels: tuple[str, ...] = LABELS
    threshold: float = THRESHOLD
    run_ids: list[str] = field(default_factory=list)


class ProcessClassifier(nn.Module):
    """h' = σ(W_x x + W_h h + b); p = softmax(W_o h')."""

    def __init__(self, config: ClassifierConfig):
        super().__init__()
        self.config = config
        self.inp = nn.Linear(config.input_size, config.hidden)
        self.rec = nn.Linear(config.hidden, config.hidden, bias=False)
        self.out = nn.Linear(config.hidden, len(config.labels))

    def initial_state(self, batch: int) -> torch.Tensor:
        return torch.zeros(batch, self.config.hidden)

    def step_logits(self, x: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = torch.sigmoid(self.inp(x) + self.rec(h))
        return self.out(h), h

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One frame: (batch, input) and (batch, hidden) → (probabilities, new state)."""
        logits, h = self.step_logits(x, h)
        return torch.softmax(logits, dim=-1), h

    def sequence_logits(self, xs: torch.Tensor) -> torch.Tensor:
        """(batch, frames, input) → logits at every frame, (batch, frames, classes)."""
        h = self.initial_state(xs.shape[0])
        out = []
        for t in range(xs.shape[1]):
            logits, h = self.step_logits(xs[:, t], h)
            out.append(logits)
        return torch.stack(out, dim=1)


def export_onnx(model: ProcessClassifier, path, int8: bool = False, **metadata):
    """Write the ONNX step model with the metadata :class:`hil.models.classifier_onnx.StepSession` checks; return its path.

    Labels, threshold, preprocessing and training run ids come from the
    model's config; ``metadata`` adds to (or overrides, e.g. ``version``) them.
    ``int8`` writes int8 weights (:func:`hil.onnx_io.quantize_int8`).
    """
    from hil.models.classifier_onnx import export_step_model
    from hil.onnx_io import quantize_int8
    from hil.store import package_version

    cfg = model.config
    path = export_step_model(model, path, cfg.input_size, cfg.hidden, {
        "labels": list(cfg.labels), "threshold": cfg.threshold, "preprocessing": cfg.preprocessing,
        "run_ids": list(cfg.run_ids), "version": f"spin-hil {package_version()}", "weights": "float32",
        **metadata})
    return quantize_int8(path, path) if int8 else path


def save(model: ProcessClassifier, path) -> None:
    torch.save({"config": asdict(model.config), "state": model.state_dict()}, path)


def load(path) -> ProcessClassifier:
    blob = torch.load(path, map_location="cpu", weights_only=True)
    cfg = blob["config"]
    cfg["labels"] = tuple(cfg["labels"])
    model = ProcessClassifier(ClassifierConfig(**cfg))
    model.load_state_dict(blob["state"])
    return model.eval()
