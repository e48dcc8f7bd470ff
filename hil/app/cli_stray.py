"""``hil train stray-field`` and ``hil reconstruct``: the stray-field CNN from the shell.

Training draws the ellipse data set into the HDF5 store (or reuses a complete
one with the same parameters), trains the multi-scale CNN, writes the ONNX
model (checked against torch to 1e-5), a checkpoint and the history.
Reconstruction runs the ONNX model on a B_z map (``.npy``) and draws B_z, the
reconstruction and, when given, the truth side by side. Heavy packages are
imported inside the commands.
"""

from __future__ import annotations

import argparse
import importlib
import json
import time
from pathlib import Path

from hil.quantities import format_quantity, quantity_arg

PARITY_TOL = 1e-5


def _find_dataset(store, wanted: dict) -> str | None:
    """The newest complete stray-field run whose parameters match ``wanted``."""
    for run_id in reversed(store.run_ids()):
        run = store.run(run_id)
        if run.attrs["protocol"] != "stray-field-shapes" or run.status != "complete":
            continue
        params = run.attrs["params"]
        if all(params.get(k) == v for k, v in wanted.items()):
            return run_id
    return None


def ensure_dataset(path: Path, n: int, n_train: int, seed: int, quiet: bool = False) -> str:
    """Run id of a complete ellipse data set in ``path``, generating it if absent."""
    from dataclasses import asdict

    from hil.store import Store

    shapes = importlib.import_module("hil.sim.stray.shapes")
    spec = shapes.ShapeSpec()
    wanted = dict(asdict(spec), n=n, n_train=n_train, seed=seed)
    with Store(path) as store:
        run_id = _find_dataset(store, wanted)
        if run_id is not None:
            if not quiet:
                print(f"using data set {run_id} in {path}")
            return run_id
        bar = None
        if not quiet:
            from tqdm import tqdm

            bar = tqdm(total=n, desc="generate ellipses", unit="sample")
        run_id = shapes.write_dataset(store, spec, n, n_train, seed=seed, progress=bar.update if bar else None)
        if bar is not None:
            bar.close()
    return run_id


def onnx_parity(model, onnx_path: Path, b) -> float:
    """Largest |onnxruntime − torch| over the maps ``b`` (N, H, W)."""
    import numpy as np

    cnn = importlib.import_module("hil.models.stray_cnn")
    sess = importlib.import_module("hil.models.stray_onnx").StrayFieldSession(onnx_path)
    return float(np.max(np.abs(sess.reconstruct(b) - cnn.predict(model, b))))


def cmd_train_stray_field(args: argparse.Namespace) -> int:
    import torch

    from hil.errors import HilError

    torch.set_num_threads(args.threads)
    cnn = importlib.import_module("hil.models.stray_cnn")
    exporter = importlib.import_module("hil.models.stray_onnx")
    out = Path(args.out)
    if out.suffix != ".onnx":
        raise HilError(f"--out {out}: give the ONNX file to write, e.g. out/stray.onnx")
    from hil.app.runpick import pick

    args.data, args.run = pick(args.data, args.run, "train stray-field")
    run_id = args.run or ensure_dataset(Path(args.data), args.samples, args.train, args.seed, args.quiet)
    train_set, val_set, params = cnn.load_dataset(args.data, run_id)
    try:
        channels = tuple(int(c) for c in args.channels.split(","))
    except ValueError:
        channels = ()
    if len(channels) != 3 or min(channels) < 1 or args.width < 1:
        raise HilError(f"--channels {args.channels!r}: give three positive integers (full, half, quarter), e.g. 16,48,64")
    net = cnn.CNNConfig(channels=channels, width=args.width, head=args.head)
    config = cnn.TrainConfig(epochs=args.epochs, batch=args.batch, lr=args.lr, seed=args.seed, noise=args.noise, cnn=net)
    bar = None
    if not args.quiet:
        from tqdm import tqdm

        bar = tqdm(total=args.epochs, desc="train stray-field CNN", unit="epoch")

    def on_epoch(epoch: int, rec: dict) -> None:
        if bar is not None:
            bar.set_postfix({"loss": f"{rec['train_loss']:.2e}", "val MSE |m|": f"{rec['mse_amplitude']:.2e}"})
            bar.update()

    start = time.perf_counter()
    model, history = cnn.train(train_set, val_set, config, on_epoch)
    seconds = time.perf_counter() - start
    if bar is not None:
        bar.close()
    from hil.store import package_version

    best = min(history, key=lambda r: r["mse_amplitude"])
    meta = {"pixel_over_d": params["pixel"], "input": "b = -4 pi d B_z / (mu0 M_s t), lengths in d",
            "version": package_version(), "training_run": run_id, "training_store": str(args.data),
            "val_mse_amplitude": best["mse_amplitude"], "val_mse_mz": best["mse_mz"],
            "thickness_over_d": params["thickness"]}
    exporter.export_onnx(model, out, int(params["pixels"]), meta)
    parity = onnx_parity(model, out, val_set.b[:64])
    if parity > PARITY_TOL:
        raise HilError(f"{out}: onnxruntime differs from torch by {parity:.2e} > {PARITY_TOL:g}; "
                       "the export is not trustworthy (check the torch / onnxruntime versions)")
    cnn.save_checkpoint(model, out.with_suffix(".pt"), extra=meta)
    summary = {"run_id": run_id, "train_seconds": seconds, "threads": args.threads, "onnx_parity": parity,
               "best": best, "history": history, "config": {"epochs": args.epochs, "batch": args.batch,
                                                             "lr": args.lr, "seed": args.seed, "noise": args.noise,
                                                             "cnn": {"channels": list(channels), "width": args.width,
                                                                     "head": args.head, "depth": net.depth}}}
    out.with_suffix(".json").write_text(json.dumps(summary, indent=1))
    print(f"{out}: val MSE |m| {best['mse_amplitude']:.3e} (published reference 9.55e-4), m_z {best['mse_mz']:.3e}, "
          f"θ error {best['theta_error_deg']:.1f}° (epoch {best['epoch'] + 1}/{args.epochs}); "
          f"{seconds:.0f} s on {args.threads} thread(s); ONNX parity {parity:.1e}")
    return 0


def _load_map(path: str, what: str):
    import numpy as np

    from hil.errors import InputDataError

    try:
        data = np.load(path, allow_pickle=False)
        if getattr(data, "ndim", 0) != 2:
            raise InputDataError(f"{path}: {what} must be one map (H × W), got shape {getattr(data, 'shape', '?')}")
        return data
    except FileNotFoundError:
        raise InputDataError(f"{path}: no such file ({what})") from None
    except ValueError as exc:
        raise InputDataError(f"{path}: not a .npy array ({what}): {exc}") from None


def cmd_reconstruct(args: argparse.Namespace) -> int:
    import numpy as np

    from hil.errors import InputDataError

    session = importlib.import_module("hil.models.stray_onnx").StrayFieldSession(args.model, threads=args.threads)
    bz = _load_map(args.bz, "B_z map")
    geometry = (args.height, args.thickness, args.ms)
    if any(v is not None for v in geometry):
        if any(v is None for v in geometry):
            raise InputDataError("to scale a map in tesla give all of --height, --thickness and --ms "
                                       "(or none, for a map already scaled to b = -4 pi d B_z / (mu0 M_s t))")
        if args.pixel is not None and abs(args.pixel / args.height - session.pixel_over_d) > 0.01 * session.pixel_over_d:
            raise InputDataError(
                f"scan pixel {format_quantity(args.pixel, 'm')} is {args.pixel / args.height:.3g} d; the model was "
                f"trained at {session.pixel_over_d:g} d: resample the scan to "
                f"{format_quantity(session.pixel_over_d * args.height, 'm')} pixels")
        forward = importlib.import_module("hil.sim.stray.forward")
        b = forward.scaled_field(bz, *geometry)
    else:
        b = bz
    rec = session.reconstruct(b)[0]
    truth = None
    if args.truth:
        truth = np.asarray(_load_map(args.truth, "true amplitude map"), dtype=float)
        if truth.shape != rec.shape[-2:]:
            raise InputDataError(f"--truth of shape {truth.shape} does not match the map {rec.shape[-2:]}")
    line = f"reconstructed |m| in [{rec[0].min():.3f}, {rec[0].max():.3f}], m_z in [{rec[1].min():+.3f}, {rec[1].max():+.3f}]"
    if truth is not None:
        line += f"; MSE |m| vs truth {np.mean((rec[0] - np.abs(truth)) ** 2):.3e}"
    print(line)
    if args.out:
        np.save(args.out, rec)
        print(f"reconstruction (|m|, m_z) → {args.out}")
    if args.plot:
        plot_reconstruction(np.asarray(bz, dtype=float), rec, truth, Path(args.plot),
                            "B_z (T)" if args.height is not None else "b (scaled B_z)")
        print(f"plot → {args.plot}")
    return 0


def plot_reconstruction(bz, rec, truth, path: Path, field_label: str) -> None:
    """B_z | reconstructed |m| | reconstructed m_z | truth (when known), side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [(bz, field_label, "RdBu_r", None), (rec[0], "reconstructed |m| (of M_s)", "viridis", (0, 1)),
              (rec[1], "reconstructed m_z (of M_s)", "RdBu_r", (-1, 1))]
    if truth is not None:
        panels.append((truth, "truth (of M_s)", "viridis" if truth.min() >= 0 else "RdBu_r",
                       (0, 1) if truth.min() >= 0 else (-1, 1)))
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.2))
    for ax, (img, title, cmap, lim) in zip(axes, panels):
        if lim is None:
            v = float(abs(img).max()) or 1.0
            lim = (-v, v)
        im = ax.imshow(img, cmap=cmap, vmin=lim[0], vmax=lim[1], origin="lower")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("x (pixels)", fontsize=8)
        ax.set_ylabel("y (pixels)", fontsize=8)
        ax.tick_params(labelsize=6)
        fig.colorbar(im, ax=ax, fraction=0.046, label=title)
    fig.suptitle("stray-field CNN: magnetisation reconstructed from the B_z map")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("reconstruct", help="magnetisation from a B_z map with the stray-field CNN (ONNX)")
    p.add_argument("bz", help="B_z map, .npy (H × W): scaled b, or tesla with --height/--thickness/--ms")
    p.add_argument("--model", required=True, help="ONNX model from `hil train stray-field`")
    p.add_argument("--height", type=quantity_arg("m"), help="sensor height d above the film, e.g. 20nm")
    p.add_argument("--thickness", type=quantity_arg("m"), help="film thickness t, e.g. 1nm")
    p.add_argument("--ms", type=quantity_arg("A/m"), help="saturation magnetisation M_s, e.g. 1MA/m")
    p.add_argument("--pixel", type=quantity_arg("m"), help="scan pixel, e.g. 10nm (checked against the model's d/2)")
    p.add_argument("--truth", help="true |m| map (.npy), drawn and scored when given")
    p.add_argument("--out", help="write the reconstruction (2 × H × W: |m|, m_z) to this .npy")
    p.add_argument("--plot", help="PNG of B_z, reconstruction and truth side by side")
    p.add_argument("--threads", type=int, default=2, help="onnxruntime threads")
    p.set_defaults(func=cmd_reconstruct)


def register_train(models: argparse._SubParsersAction) -> None:
    p = models.add_parser("stray-field", help="the stray-field CNN (B_z map → magnetisation) on generated ellipses")
    p.add_argument("--data", required=True, help="HDF5 store for the data set (reused if a matching one is there)")
    p.add_argument("--run", help="use this data-set run id of the store instead of finding/generating one")
    p.add_argument("--out", required=True, help="ONNX model to write; .pt checkpoint and .json history go next to it")
    p.add_argument("--samples", type=int, default=5000, help="samples to generate (default %(default)s)")
    p.add_argument("--train", type=int, default=3000, help="of which for training; the rest validate (default %(default)s)")
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=2e-3, help="peak learning rate (one-cycle schedule)")
    p.add_argument("--noise", type=float, default=0.0, help="rms noise added to the scaled field in training")
    p.add_argument("--channels", default="16,48,64", help="3×3-conv channels of the full, half, quarter branches")
    p.add_argument("--width", type=int, default=32, help="channels where the branches are summed")
    p.add_argument("--head", type=int, default=48, help="channels of the 1×1 convolutions")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_train_stray_field)
