"""``hil train oscillator-net``: train the oscillator network, in software or chip-in-the-loop.

Heavy imports (torch, the models and protocols) happen inside the command, so
``hil --help`` stays fast; the modules are found by name, as ``hil run`` finds
procedures, so ``hil`` itself imports none of them.
"""

from __future__ import annotations

import argparse
import importlib
import math
from pathlib import Path


def cmd_train_oscillator_net(args: argparse.Namespace) -> int:
    import torch

    from hil.bench import load_bench
    from hil.errors import HilError

    torch.set_num_threads(args.threads)
    loop = importlib.import_module("hil.protocols.chip_in_the_loop")
    digits = importlib.import_module("hil.models.digits")
    net = importlib.import_module("hil.models.oscillator_net")
    train = importlib.import_module("hil.models.train")

    out = Path(args.out)
    store_path = Path(args.store) if args.store else out.with_suffix(".h5")
    if args.chip_in_the_loop and not args.bench:
        raise HilError("--chip-in-the-loop needs a bench with a chip: --bench benches/chip.toml")
    def build(shape: dict) -> None:
        nonlocal model
        model = net.OscillatorNet(dt=args.dt, density=args.density, seed=args.seed, **shape)

    model = None
    build({})
    cfg = train.TrainConfig(epochs=args.epochs, lr0=args.lr0, lr_decay=args.lr_decay, shuffle_seed=args.seed)
    data = digits.load_digits_sequences(limit=args.limit or None)
    mode = "chip" if args.chip_in_the_loop else "model"

    def go(link, bench_text: str | None = None) -> "object":
        trainer = loop.ChipTrainer(model, data, link, cfg, mode, out, args.eval_limit)
        if args.resume and trainer.resume():
            print(f"resuming from {out} at epoch {trainer.next_epoch}")
        elif out.exists() and not args.resume:
            raise HilError(f"{out} exists; pass --resume to continue it or choose another --out")
        first = trainer.next_epoch
        epochs = range(first, args.epochs)
        bar = None
        if not args.quiet and bench_text is None:
            from tqdm import tqdm

            bar = tqdm(total=len(epochs), desc=f"train ({mode})", unit="epoch")

        def compute(indices: list[int]):
            for k in indices:
                rec = trainer.run_epoch(first + k)
                if bar is not None:
                    post = {"loss": f"{rec['loss']:.3f}", "acc": f"{rec['accuracy_model']:.3f}"}
                    if not math.isnan(rec["accuracy_chip"]):
                        post["chip"] = f"{rec['accuracy_chip']:.3f}"
                    bar.set_postfix(post)
                    bar.update()
                yield k, rec

        if bench_text is None:  # software only: the checkpoint is the record
            for _ in compute(list(range(len(epochs)))):
                pass
        else:  # on a bench: every epoch is a record of a run, with the run engine's provenance and statuses
            from hil.runs import execute
            from hil.store import Store

            params = {k: v for k, v in sorted(vars(args).items()) if k not in ("func", "quiet", "no_plot")}
            params["first_epoch"] = first
            with Store(store_path) as store:
                run = execute(store, "train_oscillator_net", params, len(epochs), compute, bench_text=bench_text,
                              progress=not args.quiet, empty_hint=f"--epochs {args.epochs} (already at {first})")
                print(f"run {run.run_id}: {run.status}, {len(run.completed())} epochs → {store_path}")
        if bar is not None:
            bar.close()
        return trainer

    if args.bench:
        spec = load_bench(args.bench)
        with spec.open() as bench:
            if "weights" in spec.roles:  # the network the chip holds
                build(loop.chip_shape(bench.role("weights")))
            calibration = {"first_channel": args.first_channel, "detector_volts": args.detector_volts,
                           "f0": args.f0, "f_spacing": args.f_spacing, "first_output": args.first_output,
                           "guard": args.guard, "batch_mode": args.batch_mode}
            link = loop.make_link(bench, loop.readout_name(args.readout), model.hidden[-1], calibration)
            loop.power_up(bench, args.bias_current, args.compliance)
            trainer = go(link, spec.text)
    else:
        trainer = go(None)
    h = trainer.history
    chip = h["accuracy_chip"][-1] if h["accuracy_chip"] else float("nan")
    print(f"{out}: epoch {trainer.next_epoch}, loss {h['loss'][-1]:.4f}, test accuracy model "
          f"{100 * h['accuracy_model'][-1]:.2f} %" + ("" if math.isnan(chip) else f", on the chip {100 * chip:.2f} %"))
    if not args.no_plot:
        png = out.with_suffix(".png")
        plot_history(h, png, mode)
        print(f"plot → {png}")
    return 0


def plot_history(history: dict, path: Path, mode: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.5))
    epochs = range(1, len(history["loss"]) + 1)
    a.plot(epochs, history["loss"])
    a.set_xlabel("epoch")
    a.set_ylabel("training loss (NLL)")
    b.plot(epochs, [100 * v for v in history["accuracy_model"]], label="digital model")
    if any(not math.isnan(v) for v in history["accuracy_chip"]):
        b.plot(epochs, [100 * v for v in history["accuracy_chip"]], label="on the chip")
    b.set_xlabel("epoch")
    b.set_ylabel("test accuracy (%)")
    b.legend()
    fig.suptitle(f"oscillator network, sequential digits ({mode} training)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


#: The ``hil train`` model subparsers of the parser being built (see hil.app.cli).
TRAIN_MODELS: list[argparse._SubParsersAction] = []


def register(sub: argparse._SubParsersAction) -> None:
    train = sub.add_parser("train", help="train models from the command line")
    what = train.add_subparsers(dest="model", required=True, metavar="MODEL")
    TRAIN_MODELS.append(what)
    p = what.add_parser("oscillator-net", help="the oscillator network on sequential digits (software or chip-in-the-loop)")
    p.add_argument("--bench", default=None, help="bench with the chip (e.g. benches/chip.toml); evaluates on it every epoch")
    p.add_argument("--chip-in-the-loop", action="store_true", help="forward pass on the bench's chip, backward through the model")
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--out", required=True, help="checkpoint file (.pt), written every epoch; the plot goes next to it (.png)")
    p.add_argument("--resume", action="store_true", help="continue the checkpoint at --out")
    p.add_argument("--store", default=None,
                   help="with --bench: the store that records every epoch as a run (default: --out with .h5)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--density", type=float, default=0.5)
    p.add_argument("--dt", type=float, default=1.0, help="ns between input points")
    p.add_argument("--lr0", type=float, default=0.149)
    p.add_argument("--lr-decay", type=float, default=8.077)
    p.add_argument("--readout", choices=["digitizer", "zero_span", "batch", "roles"], default="digitizer",
                   help="digitizer: a power detector per output, segmented capture (fast); zero_span: the analyser "
                        "per output (slow); batch and roles are their old names, going in the next release")
    p.add_argument("--eval-limit", type=int, default=0, help="test sequences evaluated per epoch (0 = all)")
    p.add_argument("--limit", type=int, default=0, help="digits used, half train / half test (0 = all; small for smoke runs)")
    p.add_argument("--bias-current", type=float, default=2e-3, help="bias rail current, A")
    p.add_argument("--compliance", type=float, default=2.0, help="bias source compliance, V")
    p.add_argument("--first-channel", type=int, default=1, help="digitizer readout: channel of the first output's detector")
    p.add_argument("--detector-volts", type=float, default=1.0, help="digitizer readout: detector output at x = 1, V")
    p.add_argument("--batch-mode", choices=["segments", "waveform"], default="segments",
                   help="digitizer readout: a trigger and a segment per sequence, or the batch as one waveform")
    p.add_argument("--guard", type=float, default=64.0, help="digitizer readout: zero input after each sequence, ns")
    p.add_argument("--f0", type=float, default=2.0e9, help="zero_span readout: frequency of oscillator 0, Hz")
    p.add_argument("--f-spacing", type=float, default=100e6, help="zero_span readout: frequency step, Hz")
    p.add_argument("--first-output", type=int, default=64, help="zero_span readout: index of the first output oscillator")
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--no-plot", action="store_true", help="skip the PNG of loss and accuracy")
    p.set_defaults(func=cmd_train_oscillator_net)
