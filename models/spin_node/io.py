"""Save and load a trained Spin-NODE: weights plus everything needed to run it.

One ``.pt`` file (torch.save of plain dicts and tensors, loadable with
``weights_only=True``): the network shape, the embedding, normalisation,
input names and units, sample interval, the rest state and the ids of the
training traces.
"""

from __future__ import annotations

from pathlib import Path

import torch

from hil.errors import HilError
from hil.models.spin_node.model import NodeMeta, SpinNODE

FORMAT = "spin-hil/spin-node/1"


def save(model: SpinNODE, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"format": FORMAT, "config": model.config(), "meta": model.meta.to_dict(),
                "state_dict": model.state_dict()}, path)
    return path


def load(path: str | Path) -> SpinNODE:
    path = Path(path)
    if not path.exists():
        raise HilError(f"{path}: no such model file")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise HilError(f"{path}: not a readable model file ({exc})") from None
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise HilError(f"{path}: not a Spin-NODE model (format {blob.get('format') if isinstance(blob, dict) else '?'}); "
                       "train one with `hil train spin-node`")
    model = SpinNODE(**blob["config"], meta=NodeMeta(**blob["meta"]))
    model.load_state_dict(blob["state_dict"])
    return model.eval()
