"""``hil train classifier``, ``hil export classifier`` and ``hil classify``: the process classifier from the shell."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def _read_all(sources: list[str], run: str | None = None):
    """Processes of every store (``--run`` picks one run of a single store), concatenated (one frame stack shape)."""
    import numpy as np

    from hil.app.runpick import pick
    from hil.errors import HilError
    from hil.models.process_data import Processes, read_processes

    if run is not None and len(sources) != 1:
        raise HilError("--run picks a run of one store; give one store with --run, or several stores without it")
    parts = []
    for src in sources:
        path, picked = pick(src, run, "train classifier")
        parts.append(read_processes(path, picked))
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

    data = _read_all(args.runs, args.run)
    if args.interior:
        data = data.subset(interior(data))
    h, w = data.frames.shape[-2:]
    from hil.models.classifier import LABELS, LABELS_WITH_MIXED
    from hil.models.preprocess import input_size

    size = input_size(args.preprocessing, args.quantiles, h * w)

    config = ClassifierConfig(preprocessing=args.preprocessing, input_size=size, hidden=args.hidden,
                              labels=LABELS_WITH_MIXED if args.mixed else LABELS, threshold=args.threshold)
    weight = {"mixed": args.mixed_weight} if args.mixed else None
    result = train_classifier(data, config, epochs=args.epochs, lr=args.lr, seed=args.seed, progress=not args.quiet,
                              class_weight=weight)
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
    extra = {}
    for item in args.meta:
        key, sep, value = item.partition("=")
        if not sep or not key:
            from hil.errors import HilError

            raise HilError(f"--meta {item!r}: expected KEY=VALUE")
        try:
            extra[key] = json.loads(value)
        except json.JSONDecodeError:
            extra[key] = value
    export_onnx(model, args.out, int8=args.int8, **extra)
    print(f"{args.model} → {args.out} ({cfg.preprocessing}, {cfg.input_size} inputs, "
          f"{'int8' if args.int8 else 'float32'} weights, labels {', '.join(cfg.labels)})")
    return 0


FLOAT_KINDS = "f"


def read_frame_arrays(path: Path) -> list[tuple[str, "object"]]:
    """(name, (frames, H, W) float32) per process from a .npy or .npz of S_z frames; HilError naming the problem.

    An array is (processes, frames, H, W) or (frames, H, W) (one process);
    every array of an .npz is read in turn (its processes named KEY[i]). Frames
    must be float S_z in [−1, 1], finite, with H·W ≥ 2. Pickled objects are
    never loaded.
    """
    import numpy as np

    from hil.errors import HilError

    try:
        loaded = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise HilError(f"{path}: no such file") from None
    except (ValueError, OSError, EOFError) as exc:
        raise HilError(f"{path}: not a NumPy array file ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None
    if isinstance(loaded, np.ndarray):
        arrays = [(path.stem, loaded)]
    else:
        with loaded:
            try:
                arrays = [(key, loaded[key]) for key in loaded.files]
            except ValueError as exc:
                raise HilError(f"{path}: cannot read an array ({exc})") from None
        if not arrays:
            raise HilError(f"{path}: the .npz holds no arrays")
    out = []
    for name, arr in arrays:
        where = f"{path}" + (f"[{name}]" if path.suffix == ".npz" else "")
        if arr.dtype.kind not in FLOAT_KINDS:
            raise HilError(f"{where}: dtype {arr.dtype} is not a float; frames are S_z as float16/32/64 in [-1, 1]")
        if arr.ndim not in (3, 4):
            raise HilError(f"{where}: shape {arr.shape} has rank {arr.ndim}; expected (processes, frames, H, W) "
                           "or (frames, H, W)")
        if 0 in arr.shape:
            raise HilError(f"{where}: shape {arr.shape} is empty")
        if arr.shape[-1] * arr.shape[-2] < 2:
            raise HilError(f"{where}: frames of {arr.shape[-2]}×{arr.shape[-1]} pixels; need H·W ≥ 2")
        bad = ~np.isfinite(arr)
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            raise HilError(f"{where}: {int(bad.sum())} NaN/inf values (first at index {idx})")
        lo, hi = float(arr.min()), float(arr.max())
        if lo < -1.001 or hi > 1.001:
            raise HilError(f"{where}: values span [{lo:g}, {hi:g}]; S_z frames lie in [-1, 1] (normalise a camera's "
                           "stack first)")
        arr = arr.astype(np.float32, copy=False)
        if arr.ndim == 3:
            out.append((name, arr))
        else:
            out.extend((f"{name}[{i}]", a) for i, a in enumerate(arr))
    return out


def _rows(session, names: list[str], stacks: list, physics: list[str] | None) -> list[dict]:
    """One row per process: the final label and probabilities, the label and probabilities at every frame."""
    import numpy as np

    rows = []
    shapes = {s.shape for s in stacks}
    if len(shapes) == 1:  # one batch
        probs = list(session.run_batch(np.stack(stacks)))
    else:
        probs = [session.run_sequence(s) for s in stacks]
    for k, (name, pr) in enumerate(zip(names, probs)):
        row = {"process": name, "label": session.decide(pr[-1]), "probs": [round(float(p), 4) for p in pr[-1]],
               "frame_labels": [session.decide(p) for p in pr],
               "frame_probs": [[round(float(p), 4) for p in f] for f in pr]}
        if physics is not None:
            row["physics"] = physics[k]
        rows.append(row)
    return rows


def cmd_classify(args: argparse.Namespace) -> int:
    from hil.labels import LETTERS, agrees
    from hil.models.classifier_onnx import StepSession
    from hil.models.train_classifier import evaluate

    session = StepSession(args.model, threads=args.threads)
    src = Path(args.source)
    result = None
    if src.suffix in (".npy", ".npz"):
        if args.run:
            from hil.errors import HilError

            raise HilError("--run names a run of a store; a NumPy file has none")
        named = read_frame_arrays(src)
        rows = _rows(session, [n for n, _ in named], [a for _, a in named], None)
    else:
        from hil.models.process_data import read_processes

        data = read_processes(src, args.run)
        rows = _rows(session, data.ids, list(data.frames), data.labels)
        import numpy as np

        result = evaluate(np.array([r["probs"] for r in rows]), data.labels, tuple(session.labels),
                          session.threshold)
    if args.json:
        out = {"model": str(session.path), "labels": session.labels, "threshold": session.threshold,
               "processes": rows}
        if result is not None:
            out.update({k: result[k] for k in ("accuracy", "confusion", "rows", "columns")})
        print(json.dumps(out))
        return 0
    width = max(len(r["process"]) for r in rows) + 2
    print(f"{'process':<{width}} {'label':<14} {'p(' + '/'.join(x[0].upper() for x in session.labels) + ')':<24} "
          f"per frame" + ("  physics" if result is not None else ""))
    for r in rows:
        frames = "".join(LETTERS.get(x, "?") for x in r["frame_labels"])
        line = f"{r['process']:<{width}} {r['label']:<14} {' '.join(f'{p:.2f}' for p in r['probs']):<24} {frames}"
        if "physics" in r:
            mark = "" if agrees(r["label"], r["physics"], [c for c in session.labels if c != "mixed"]) else "  ≠"
            line += f"  {r['physics']}{mark}"
        print(line)
    tail = f"{len(rows)} processes labelled by {session.path.name}"
    if result is not None:
        tail += f"; agreement with the physics labels {100 * result['accuracy']:.1f} %"
    print(tail)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    export = sub.add_parser("export", help="export trained models to ONNX").add_subparsers(
        dest="export_what", required=True, metavar="MODEL")
    p = export.add_parser("classifier", help="the process classifier as an ONNX step model with metadata")
    p.add_argument("model", help="trained classifier (.pt from `hil train classifier`)")
    p.add_argument("out", help="ONNX file to write")
    p.add_argument("--int8", action="store_true",
                   help="int8 weights (dynamic quantisation): 4× smaller, faster live steps, probabilities move ~1e-2")
    p.add_argument("--meta", action="append", default=[], metavar="KEY=VALUE",
                   help="provenance to record in the model's metadata (VALUE as JSON if it parses); repeatable")
    p.set_defaults(func=cmd_export_classifier)

    p = sub.add_parser("classify", help="label skyrmion processes (a stored run, or S_z frames in .npy/.npz) with "
                                        "an ONNX classifier")
    p.add_argument("source", metavar="RUN.h5|FRAMES.npy|FRAMES.npz",
                   help="a run of processes, or an array (processes, frames, H, W) or (frames, H, W) of S_z")
    p.add_argument("--model", default=None,
                   help="ONNX classifier (`hil export classifier`; default: the shipped L = 100 model)")
    p.add_argument("--run", default=None, help="run id (default: the file's only run)")
    p.add_argument("--threads", type=int, default=2, help="onnxruntime threads")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_classify)


def register_train(models: argparse._SubParsersAction) -> None:
    p = models.add_parser("classifier", help="the skyrmion-process classifier on stored processes")
    p.add_argument("runs", nargs="+", metavar="STORE.h5", help="stores of process-diagram runs to train on")
    p.add_argument("--run", default=None, help="train on this run of the (one) store only (default: all its runs)")
    p.add_argument("--preprocessing", choices=["quantiles", "quantiles+regions", "sorted"], default="quantiles",
                   help="sorted S_z of every spin (the published input), N quantiles of it (default), or the "
                        "quantiles plus the count of reversed regions (what tells a mixed process; the shipped model)")
    p.add_argument("--quantiles", type=int, default=256, help="N for --preprocessing quantiles(+regions)")
    p.add_argument("--hidden", type=int, default=512, help="recurrent sigmoid units")
    p.add_argument("--interior", action="store_true", help="keep only diagram points whose grid neighbours agree")
    p.add_argument("--mixed", action="store_true",
                   help="learn 'mixed' as a fourth class from the runs' mixed processes (flags mixed processes; "
                        "the paper's three classes and threshold cannot)")
    p.add_argument("--mixed-weight", type=float, default=1.0,
                   help="with --mixed: loss weight of the mixed class (the shipped model: 0.5, so a clear process "
                        "that looks half mixed keeps its class)")
    p.add_argument("--threshold", type=float, default=0.8,
                   help="top probability below which the answer is mixed/unknown (default %(default)s)")
    p.add_argument("--epochs", type=int, default=300, help="at most; early stopping on 10 %% held out")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    p.add_argument("--out", required=True, type=Path, help="model file (.pt)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_train_classifier)
