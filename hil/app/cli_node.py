"""``hil train spin-node`` and ``hil predict``: learn a device's dynamics from recorded traces, then run it.

torch and the model package are imported inside the commands (found by name,
as ``hil run`` finds procedures), so ``hil --help`` stays fast and ``hil``
imports no model code.
"""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path


def _csv(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def cmd_train_spin_node(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from hil.errors import HilError

    torch.set_num_threads(args.threads)
    node = importlib.import_module("hil.models.spin_node")
    model_mod = importlib.import_module("hil.models.spin_node.model")
    train_mod = importlib.import_module("hil.models.spin_node.train")

    out = Path(args.out)
    inputs = _csv(args.inputs)
    if not inputs:
        raise HilError("--inputs needs at least one recorded input name, e.g. --inputs field")
    from hil.app.runpick import pick

    args.data, args.run = pick(args.data, args.run, "train spin-node")
    traces = node.load_traces(args.data, args.observe, inputs, runs=_csv(args.run) if args.run else None)
    if args.holdout:
        if args.holdout >= len(traces):
            raise HilError(f"--holdout {args.holdout} leaves no training trace (the file holds {len(traces)})")
        traces, held = traces[:-args.holdout], traces[-args.holdout:]
    else:
        held = []
    units = traces[0].units
    meta = model_mod.NodeMeta(observe=args.observe, observe_unit=units.get(args.observe, ""), inputs=inputs,
                              input_units=[units.get(k, "") for k in inputs])
    cfg = train_mod.TrainConfig(window=args.window, batch=args.batch, lr=args.lr, lr_final=args.lr_final,
                                max_iters=args.max_iters, eval_every=args.eval_every, threshold=args.threshold,
                                time_limit=args.time_limit, solver=args.solver, seed=args.seed)
    bar = None
    if not args.quiet:
        from tqdm import tqdm

        bar = tqdm(total=cfg.max_iters, desc="train spin-node", unit="it")

    def progress(it: int, loss: float, score: float | None) -> None:
        if bar is None:
            return
        bar.update(1)
        if score is not None:
            bar.set_postfix({"loss": f"{loss:.2e}", "trajectory NRMSE": f"{100 * score:.2f} %"})

    model = train_mod.train(traces, embed=args.embed, hidden=args.hidden, config=cfg, meta=meta, progress=progress)
    if bar is not None:
        bar.close()
    node.save(model, out)
    h = model.meta.history
    line = (f"{out}: {len(traces)} traces, {h['iterations']} iterations ({h['stopped']}), whole-trace NRMSE "
            f"{100 * h['best_trajectory_nrmse']:.2f} % on the training traces")
    if held:
        pred = train_mod.predict_traces(model, held)
        score = train_mod.nrmse(np.concatenate(pred), np.concatenate([t.y for t in held]))
        line += f", {100 * score:.2f} % on {len(held)} held-out"
    print(line)
    if not args.no_plot:
        shown = held or traces
        png = out.with_suffix(".png")
        plot_traces(shown[:3], train_mod.predict_traces(model, shown[:3]), model.meta, png)
        print(f"plot → {png}")
    return 0


def plot_traces(traces, predictions, meta, path: Path) -> None:
    """Predicted against recorded output, one panel per trace, input underneath."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(traces), figsize=(4.5 * len(traces), 5), squeeze=False, sharex="col")
    for j, (trace, pred) in enumerate(zip(traces, predictions)):
        t = (trace.time - trace.time[0]) * 1e9
        axes[0, j].plot(t, trace.y, lw=1, label="recorded")
        axes[0, j].plot(t, pred, lw=1, ls="--", label="Spin-NODE")
        axes[0, j].set_title(trace.source, fontsize=8)
        axes[1, j].plot(t, trace.u[:, 0], lw=0.8, color="grey")
        axes[1, j].set_xlabel("time (ns)")
    axes[0, 0].set_ylabel(f"{meta.observe} ({meta.observe_unit or '1'})")
    axes[1, 0].set_ylabel(f"{meta.inputs[0]} ({meta.input_units[0] or '1'})")
    axes[0, 0].legend(fontsize=8)
    for j in range(len(traces)):
        axes[0, j].set_xlabel("time (ns)")
    fig.suptitle(f"Spin-Neural ODE: predicted against recorded {meta.observe} (top), drive {meta.inputs[0]} (bottom)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def cmd_predict(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from hil.errors import HilError

    torch.set_num_threads(args.threads)
    node = importlib.import_module("hil.models.spin_node")
    model = node.load(args.model)
    try:
        u = np.load(args.input)
    except (OSError, ValueError) as exc:
        raise HilError(f"{args.input}: not a readable .npy array ({exc})") from None
    y0 = [float(v) for v in _csv(args.y0)] if args.y0 else None
    try:
        y = model.predict(u, y0)
    except ValueError as exc:
        raise HilError(f"{args.input}: {exc} (inputs: {', '.join(model.meta.inputs)} in "
                       f"{', '.join(model.meta.input_units)}, one row per {model.meta.sample_interval:g} s)") from None
    y = y[0] if np.ndim(u) < 3 else y
    out = Path(args.out) if args.out else Path(args.input).with_name(Path(args.input).stem + "_pred.npy")
    np.save(out, y)
    m = model.meta
    print(f"{out}: {m.observe} ({m.observe_unit or '1'}) at {y.shape[-1]} samples every {m.sample_interval:g} s, "
          f"range {y.min():.6g} … {y.max():.6g}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predict", help="run a trained Spin-NODE on an input sequence (.npy)")
    p.add_argument("model", help="model file from `hil train spin-node` (.pt)")
    p.add_argument("--input", required=True, help=".npy of inputs: (N,) or (N, inputs) or (batch, N, inputs), physical units")
    p.add_argument("--y0", default=None, help="first k outputs, comma-separated (default: the device at rest, from training)")
    p.add_argument("--out", default=None, help="where to write the predicted output .npy (default: INPUT_pred.npy)")
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    p.set_defaults(func=cmd_predict)


def register_train(models: argparse._SubParsersAction) -> None:
    p = models.add_parser("spin-node", help="a Spin-Neural ODE of a device from recorded input/output traces")
    p.add_argument("data", help="HDF5 store with device_response runs")
    p.add_argument("--observe", required=True, help="recorded output to learn, e.g. mz or power_dbm")
    p.add_argument("--inputs", required=True, help="recorded inputs, comma-separated, e.g. field or current")
    p.add_argument("--run", default=None, help="run ids to use, comma-separated (default: every run holding the fields)")
    p.add_argument("--embed", type=int, default=2, help="delay-embedding dimension k (Δ = one sample)")
    p.add_argument("--hidden", type=int, default=50, help="MLP width n (50 skyrmion, 100 oscillator)")
    p.add_argument("--window", type=int, default=20, help="samples per training window")
    p.add_argument("--batch", type=int, default=50, help="windows per step")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
    p.add_argument("--lr-final", type=float, default=None, help="decay the rate geometrically to this (default: constant)")
    p.add_argument("--max-iters", type=int, default=20000)
    p.add_argument("--eval-every", type=int, default=250, help="iterations between whole-trace checks")
    p.add_argument("--threshold", type=float, default=0.02, help="stop once the whole-trace NRMSE is below this")
    p.add_argument("--time-limit", type=float, default=float("inf"), help="stop after this many seconds")
    p.add_argument("--solver", choices=["rk4", "torchdiffeq"], default="rk4",
                   help="rk4: the project's step (as exported); torchdiffeq: odeint(method='rk4')")
    p.add_argument("--holdout", type=int, default=0, help="last N traces kept out of training and scored")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="model file (.pt); the plot goes next to it (.png)")
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--no-plot", action="store_true", help="skip the PNG of predicted against recorded traces")
    p.set_defaults(func=cmd_train_spin_node)
