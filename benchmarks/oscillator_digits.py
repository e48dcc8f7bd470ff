"""Sequential digits: oscillator network and CTRNN, median and spread over seeds; sweeps.

    python benchmarks/oscillator_digits.py --net osc --seeds 10 --epochs 100
    python benchmarks/oscillator_digits.py --net ctrnn --seeds 10 --epochs 100 --drive-gain gamma
    python benchmarks/oscillator_digits.py --net ctrnn --seeds 10 --epochs 100 --lr0 0.02357 --lr-decay 8.445 \
        --tau 3.028 --drive-gain 5.689*gamma --input-gain 5.431 --init-scale 0.464 --readout x \
        --name ctrnn_seeds_searched          # the CTRNN's settings from benchmarks/ctrnn_search.py
    python benchmarks/oscillator_digits.py --net osc --sweep dt --values 0.1,0.2,0.5,1,2,5,10
    python benchmarks/oscillator_digits.py --net osc --sweep density_int --values 0.1,0.2,0.5,1

All seeds of one setting train side by side as one ensemble. A seed is a
seed: seed k (``--seed`` is the first, default 0) draws its masks, initial
weights and batch order from generators of its own, so its result is the
same alone (``--seed k --seeds 1``) or beside any other seeds — bit for bit
on one thread (tests/test_oscillator_net.py trains a seed both ways and
compares). The 50/50 split is fixed. One thread, as on the 2-core CI box.
``--limit N`` keeps N digits (quick runs). Writes
benchmarks/results/oscillator_<name>.json with the per-seed accuracies and,
per seed, the sha256 of its trained weights (``seed_digests``: the digest a
solo run of that seed gives, so any seed can be retrained and checked on its
own), and keeps the trained weights of every setting in
results/models/oscillator_<name>[_<i>].npz (all seeds of the setting, stacked
as the ensemble holds them; ≈ 16 kB a seed compressed; setting i of a sweep).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _record import keep_weights, provenance, weights_digest, write_result  # noqa: E402
from hil.models.ctrnn import CTRNN  # noqa: E402
from hil.models.digits import load_digits_sequences  # noqa: E402
from hil.models.oscillator_net import OscillatorNet  # noqa: E402
from hil.models.train import TrainConfig, fit  # noqa: E402

NETS = {"osc": OscillatorNet, "ctrnn": CTRNN}


def parse_drive_gain(text: str, tau: float) -> float:
    """``--drive-gain``: a number (1/ns), 'gamma' (= 1/τ) or 'K*gamma' (= K/τ), τ in ns."""
    g = text.replace(" ", "")
    try:
        if g.endswith("gamma"):
            k = g[:-len("gamma")]
            if k.endswith("*"):
                k = k[:-1]
            return (float(k) if k else 1.0) / tau
        return float(g)
    except ValueError:
        raise ValueError(f"--drive-gain must be a number, 'gamma' or 'K*gamma', got {text!r}") from None


def seed_digests(model) -> list[str]:
    """sha256 of each member's trained weights, as a one-member network of its seed holds them (E = 1):
    the digest ``hil train oscillator-net --seed k`` / ``--seed k --seeds 1`` gives for seed k."""
    state = model.state_dict()
    return [weights_digest({k: v[i:i + 1] for k, v in state.items()}) for i in range(model.ensemble)]


def run_setting(net: str, seeds: int, epochs: int, lr0: float, lr_decay: float, log, first_seed: int = 0,
                limit: int | None = None, keep: tuple[str, str] | None = None, **kw) -> dict:
    """Train the seeds of one setting; ``keep`` = (results folder, file name) keeps the weights there."""
    data = load_digits_sequences(limit=limit)
    model = NETS[net](ensemble=seeds, seed=first_seed, **kw)
    t0 = time.perf_counter()

    def on_epoch(e, loss, acc):
        log(f"  epoch {e + 1:3d}  loss median {loss.median():.3f}  acc median {acc.median():.4f}  "
            f"({time.perf_counter() - t0:.0f} s)")

    hist = fit(model, data, TrainConfig(epochs=epochs, lr0=lr0, lr_decay=lr_decay), on_epoch=on_epoch)
    final = [100 * a for a in hist.accuracy[-1]]
    best = [100 * max(col) for col in zip(*hist.accuracy)]
    return {
        "seeds": list(model.seeds),
        "accuracy_final": final,
        "median": statistics.median(final),
        "mean": statistics.fmean(final),
        "std": statistics.pstdev(final),
        "min": min(final), "max": max(final),
        "median_best_epoch": statistics.median(best),
        "seconds": time.perf_counter() - t0,
        "seconds_per_epoch_per_seed": (time.perf_counter() - t0) / epochs / seeds,
        "history_median_accuracy": [100 * statistics.median(a) for a in hist.accuracy],
        "weights_sha256": seed_digests(model),
        **({"weights": keep_weights(keep[0], keep[1], model)} if keep else {}),
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--net", choices=sorted(NETS), default="osc")
    p.add_argument("--seeds", type=int, default=10, help="how many seeds: --seed, --seed + 1, …")
    p.add_argument("--seed", type=int, default=0, help="the first seed")
    p.add_argument("--limit", type=int, default=None, help="keep the first N digits of the shuffled set (quick runs)")
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--lr0", type=float, default=0.149)
    p.add_argument("--lr-decay", type=float, default=8.077)
    p.add_argument("--tau", type=float, default=14.12)
    p.add_argument("--dt", type=float, default=1.0)
    p.add_argument("--density", type=float, default=0.5)
    p.add_argument("--max-step", type=float, default=1.0, help="longest integration sub-step, ns")
    p.add_argument("--f-cut", type=float, default=None, help="oscillator net only: high-pass cut-off, GHz (default 0.045)")
    p.add_argument("--drive-gain", default=None,
                   help="CTRNN only: g in dx/dt = −γx + g·I, 1/ns; 'gamma' = 1/τ (textbook form), 'K*gamma' = K/τ")
    p.add_argument("--input-gain", type=float, default=None, help="CTRNN only: fixed factor on the input line (dimensionless)")
    p.add_argument("--init-scale", type=float, default=None, help="CTRNN only: initial W_ext, W_int × this (dimensionless)")
    p.add_argument("--readout", choices=["tanh", "x"], default=None, help="CTRNN only: read out tanh(x) (default) or x")
    p.add_argument("--sweep", choices=["dt", "density", "density_int", "density_ext"], default=None)
    p.add_argument("--values", default="")
    p.add_argument("--name", default=None, help="result file name (default from the settings)")
    p.add_argument("--out-dir", default=os.environ.get("HIL_RESULTS_DIR") or str(ROOT / "benchmarks" / "results"),
                   help="where the JSON goes (default $HIL_RESULTS_DIR, else benchmarks/results)")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    header = provenance(argv, __file__, args.threads)
    name = args.name or (f"{args.net}_sweep_{args.sweep}" if args.sweep else f"{args.net}_seeds")
    out = Path(args.out_dir) / f"oscillator_{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)

    def log(msg):
        print(msg, flush=True)

    base = dict(tau=args.tau, dt=args.dt, density=args.density, max_step=args.max_step)
    if args.f_cut is not None:
        if args.net != "osc":
            p.error("--f-cut applies to the oscillator network only")
        base["f_cut"] = args.f_cut
    if args.drive_gain is not None:
        if args.net != "ctrnn":
            p.error("--drive-gain applies to the CTRNN only")
        try:
            base["drive_gain"] = parse_drive_gain(args.drive_gain, args.tau)
        except ValueError as e:
            p.error(str(e))
    for flag in ("input_gain", "init_scale", "readout"):
        if getattr(args, flag) is not None:
            if args.net != "ctrnn":
                p.error(f"--{flag.replace('_', '-')} applies to the CTRNN only")
            base[flag] = getattr(args, flag)
    settings = [base] if not args.sweep else [
        dict(base, **{args.sweep: float(v)}) for v in args.values.split(",") if v.strip()]
    results = []
    for i, s in enumerate(settings):
        log(f"{args.net} {s} seeds={args.seeds} epochs={args.epochs} lr0={args.lr0}")
        keep = (out.parent, f"oscillator_{name}" + (f"_{i}" if args.sweep else "") + ".npz")
        r = run_setting(args.net, args.seeds, args.epochs, args.lr0, args.lr_decay, log, first_seed=args.seed,
                        limit=args.limit, keep=keep, **s)
        log(f"→ median {r['median']:.2f} %  mean {r['mean']:.2f} ± {r['std']:.2f} %  [{r['min']:.1f}, {r['max']:.1f}]")
        results.append({"settings": s, **r})
        record = {**header, "net": args.net, "seeds": args.seeds, "first_seed": args.seed, "epochs": args.epochs,
                  "limit": args.limit, "lr0": args.lr0, "lr_decay": args.lr_decay, "results": results}
        if len(results) == 1:
            record["median_accuracy"] = r["median"]  # the headline figure (RESULTS.md tags point here)
        write_result(out, record)  # after every setting: a killed sweep keeps what it had
    log(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
