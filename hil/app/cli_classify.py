"""``hil train classifier``, ``hil export classifier`` and ``hil classify``: the process classifier from the shell."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def _read_all(sources: list[str]):
    """Processes of every FILE or FILE:RUN_ID, concatenated (all with the same frame stack shape)."""
    import numpy as np

    from hil.models.process_data import Processes, read_processes

    parts = []
    for src in sources:
        path, _, run = src.partition("::")
        parts.append(read_processes(path, run or None))
    if len({p.frames.shape[1:] for p in parts}) != 1:
        from hil.errors import HilError

        raise HilError("the runs hold frame stacks of different shapes; train on one frame set and lattice size")
    merged = Processes(np.concatenate([p.frames for p in parts]), sum((p.labels for p in parts), []),
                       np.concatenate([p.alpha for p in parts]), np.concatenate([p.t_w for p in parts]),
                       sum((p.ids for p in parts), []), sum((p.run_ids for p in parts), []))
    return merged


def cmd_train_classifier(args: argparse.Namespace) -> int:
    import torch

    from hil.models.classifier import ClassifierConfig, save
    from hil.models.train_classifier import train_classifier

    torch.set_num_threads(args.threads)
    from hil.models.process_data import interior

    data = _read_all(args.runs)
    if args.interior:
        data = data.subset(interior(data))
    h, w = data.frames.shape[-2:]
    size = h * w if args.preprocessing == "sorted" else args.quantiles
    config = ClassifierConfig(preprocessing=args.preprocessing, input_size=size, hidden=args.hidden)
    result = train_classifier(data, config, epochs=args.epochs, lr=args.lr, seed=args.seed, progress=not args.quiet)
    save(result.model, args.out)
    counts = ", ".join(f"{k} {v}" for k, v in result.trained_on.items())
    best = result.history["val_accuracy"][result.best_epoch]
    print(f"classifier ({args.preprocessing}, {size} inputs, {args.hidden} hidden) → {args.out}: trained on {counts}; "
          f"best epoch {result.best_epoch + 1}, held-out accuracy {100 * best:.1f} %")
    return 0


def cmd_export_classifier(args: argparse.Namespace) -> int:
    from hil.models.classifier import export_onnx, load

    model = load(args.model)
    cfg = model.config
    export_onnx(model, args.out, int8=args.int8)
    print(f"{args.model} → {args.out} ({cfg.preprocessing}, {cfg.input_size} inputs, "
          f"{'int8' if args.int8 else 'float32'} weights, labels {', '.join(cfg.labels)})")
    return 0


def cmd_classify(args: argparse.Namespace) -> int:
    from hil.labels import agrees
    from hil.models.classifier_onnx import StepSession
    from hil.models.process_data import read_processes
    from hil.models.train_classifier import evaluate

    session = StepSession(args.model, threads=args.threads)
    data = read_processes(args.run_file, args.run)
    probs = session.run_batch(data.frames)[:, -1]
    result = evaluate(probs, data.labels, tuple(session.labels), session.threshold)
    rows = [{"process": pid, "label": lab, "physics": phys, "probs": [round(float(p), 4) for p in pr]}
            for pid, lab, phys, pr in zip(data.ids, result["decided"], data.labels, probs)]
    if args.json:
        print(json.dumps({"processes": rows, "accuracy": result["accuracy"], "confusion": result["confusion"],
                          "rows": result["rows"], "columns": result["columns"]}))
        return 0
    for r in rows:
        mark = "" if agrees(r["label"], r["physics"], session.labels) else "  ≠"
        print(f"{r['process']:<48} {r['label']:<14} physics {r['physics']:<10}{mark}")
    print(f"{len(rows)} processes, agreement with the physics labels {100 * result['accuracy']:.1f} %")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    export = sub.add_parser("export", help="export trained models to ONNX").add_subparsers(
        dest="export_what", required=True, metavar="MODEL")
    p = export.add_parser("classifier", help="the process classifier as an ONNX step model with metadata")
    p.add_argument("model", help="trained classifier (.pt from `hil train classifier`)")
    p.add_argument("out", help="ONNX file to write")
    p.add_argument("--int8", action="store_true",
                   help="int8 weights (dynamic quantisation): 4× smaller, faster live steps, probabilities move ~1e-2")
    p.set_defaults(func=cmd_export_classifier)

    p = sub.add_parser("classify", help="label the stored processes of a run with an ONNX classifier")
    p.add_argument("run_file", metavar="RUN.h5")
    p.add_argument("--model", required=True, help="ONNX classifier (`hil export classifier`)")
    p.add_argument("--run", default=None, help="run id (default: the file's only run)")
    p.add_argument("--threads", type=int, default=2, help="onnxruntime threads")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_classify)


def register_train(models: argparse._SubParsersAction) -> None:
    p = models.add_parser("classifier", help="the skyrmion-process classifier on stored processes")
    p.add_argument("runs", nargs="+", metavar="RUN.h5[::RUN_ID]", help="process-diagram runs to train on")
    p.add_argument("--preprocessing", choices=["quantiles", "sorted"], default="quantiles",
                   help="sorted S_z of every spin (the published input) or N quantiles of it (default)")
    p.add_argument("--quantiles", type=int, default=256, help="N for --preprocessing quantiles")
    p.add_argument("--hidden", type=int, default=512, help="recurrent sigmoid units")
    p.add_argument("--interior", action="store_true", help="keep only diagram points whose grid neighbours agree")
    p.add_argument("--epochs", type=int, default=300, help="at most; early stopping on 10 %% held out")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    p.add_argument("--out", required=True, type=Path, help="model file (.pt)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_train_classifier)
