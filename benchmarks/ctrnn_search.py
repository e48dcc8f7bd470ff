"""Optuna search for the CTRNN baseline's own settings on sequential digits (issue 5).

    pip install -e .[bench]          # optuna
    python benchmarks/ctrnn_search.py --trials 300 --timeout 1500 --epochs 30 --seeds 2 --rerank 5

Searched: lr0, lr_decay, τ (ns), drive gain g·τ (g in dx/dt = −x/τ + g·I;
g·τ = 1 is the textbook form τ dx/dt = −x + I), input gain, initial weight
scale, readout (tanh(x) or x of the last layer). Fixed, as for every other
row of the table: 3 × 32 neurons, masks at density 0.5, S = 0.5, 1 ns between
pixels, Adam, batch 120, every gradient element clipped to ±1,
lr = lr0 / (epoch / lr_decay + 1), loss after the last step.

Tuning never sees the test half: the TRAIN half (898 images) is split once
more (seed ``--val-seed``) into ``--val`` validation images and the rest for
training; the objective is the mean validation accuracy of ``--seeds``
initialisations after the last of ``--epochs`` epochs (short runs; median
pruning on the per-epoch validation accuracy). The best ``--rerank`` trials
are then trained again, ``--rerank-seeds`` fresh seeds × ``--rerank-epochs``
epochs, still on the validation part; the best mean is the one chosen. The
test half is only used
afterwards, by ``benchmarks/oscillator_digits.py`` with the settings printed
at the end (10 seeds × 100 epochs).

Writes benchmarks/results/ctrnn_search.json after every trial (a killed
search keeps what it had).
"""

from __future__ import annotations

import os
import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hil.models.ctrnn import CTRNN  # noqa: E402
from hil.models.digits import Digits, load_digits_sequences  # noqa: E402
from hil.models.train import TrainConfig, fit  # noqa: E402

# the settings of the "CTRNN, tuned" row (textbook form, reference recipe): trial 0
BASELINE = dict(lr0=0.149, lr_decay=8.077, tau=14.12, g_tau=1.0, input_gain=1.0, init_scale=1.0, readout="tanh")


def validation_split(n_val: int, seed: int) -> Digits:
    """Train half → (train part, validation part) in a Digits; the test half is not touched."""
    full = load_digits_sequences()
    if not 0 < n_val < len(full.y_train):
        raise ValueError(f"--val must be between 1 and {len(full.y_train) - 1}, got {n_val}")
    order = torch.randperm(len(full.y_train), generator=torch.Generator().manual_seed(seed))
    va, tr = order[:n_val], order[n_val:]
    return Digits(full.x_train[tr], full.y_train[tr], full.x_train[va], full.y_train[va])


def build(params: dict, seeds: int, seed: int = 0) -> CTRNN:
    return CTRNN(ensemble=seeds, seed=seed, tau=params["tau"], drive_gain=params["g_tau"] / params["tau"],
                 input_gain=params["input_gain"], init_scale=params["init_scale"], readout=params["readout"])


def train_on_validation(params: dict, data: Digits, seeds: int, epochs: int, seed: int = 0,
                        on_epoch=None) -> list[float]:
    """Train ``params`` on the train part; validation accuracy (%) per seed after the last epoch."""
    cfg = TrainConfig(epochs=epochs, lr0=params["lr0"], lr_decay=params["lr_decay"])
    hist = fit(build(params, seeds, seed), data, cfg, on_epoch=on_epoch)  # data.x_test: the validation part
    return [100 * a for a in hist.accuracy[-1]]


def command_for(params: dict, seeds: int = 10, epochs: int = 100, name: str = "ctrnn_seeds_searched") -> str:
    """The oscillator_digits.py command line that runs ``params`` on the test half."""
    return (f"python benchmarks/oscillator_digits.py --net ctrnn --seeds {seeds} --epochs {epochs} "
            f"--lr0 {params['lr0']:.4g} --lr-decay {params['lr_decay']:.4g} --tau {params['tau']:.4g} "
            f"--drive-gain {params['g_tau']:.4g}*gamma --input-gain {params['input_gain']:.4g} "
            f"--init-scale {params['init_scale']:.4g} --readout {params['readout']} --name {name}")


def main(argv=None) -> int:
    import optuna

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--trials", type=int, default=200)
    p.add_argument("--timeout", type=float, default=None, help="stop starting trials after this many seconds")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--seeds", type=int, default=2)
    p.add_argument("--val", type=int, default=224, help="validation images carved from the train half")
    p.add_argument("--val-seed", type=int, default=1)
    p.add_argument("--sampler-seed", type=int, default=0)
    p.add_argument("--tau-min", type=float, default=0.3, help="ns")
    p.add_argument("--tau-max", type=float, default=200.0, help="ns")
    p.add_argument("--rerank", type=int, default=5, help="re-train the best N trials longer (validation only)")
    p.add_argument("--rerank-seeds", type=int, default=4)
    p.add_argument("--rerank-epochs", type=int, default=100)
    p.add_argument("--warm-start", default=None, help="a previous search's JSON: its top-3 settings are tried first")
    p.add_argument("--name", default="ctrnn_search")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    data = validation_split(args.val, args.val_seed)
    out = Path(os.environ.get("HIL_RESULTS_DIR") or ROOT / "benchmarks" / "results") / f"{args.name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()

    rerank: list[dict] = []

    def objective(trial: optuna.Trial) -> float:
        params = dict(
            lr0=trial.suggest_float("lr0", 1e-3, 0.3, log=True),
            lr_decay=trial.suggest_float("lr_decay", 1.0, 100.0, log=True),
            tau=trial.suggest_float("tau", args.tau_min, args.tau_max, log=True),
            g_tau=trial.suggest_float("g_tau", 0.1, 10.0, log=True),
            input_gain=trial.suggest_float("input_gain", 0.3, 30.0, log=True),
            init_scale=trial.suggest_float("init_scale", 0.3, 5.0, log=True),
            readout=trial.suggest_categorical("readout", ["tanh", "x"]),
        )
        score = float("nan")

        def on_epoch(epoch: int, loss: torch.Tensor, acc: torch.Tensor) -> None:
            nonlocal score
            if not torch.isfinite(loss).all():
                raise optuna.TrialPruned(f"loss not finite at epoch {epoch}")
            score = 100 * float(acc.mean())
            trial.report(score, epoch)  # %, like the objective (ctrnn_search.json of 2026-11-21 was made reporting a fraction 0–1)
            if trial.should_prune():
                trial.set_user_attr("pruned_at_epoch", epoch + 1)
                raise optuna.TrialPruned()

        t0 = time.perf_counter()
        trial.set_user_attr("val_accuracy_per_seed", train_on_validation(params, data, args.seeds, args.epochs,
                                                                         on_epoch=on_epoch))
        trial.set_user_attr("seconds", time.perf_counter() - t0)
        return score

    def dump(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
        best = study.best_trial if done else None
        ranked = sorted(done, key=lambda t: -t.value)
        record = {
            "command": "python " + " ".join(["benchmarks/ctrnn_search.py"] + (argv if argv is not None else sys.argv[1:])),
            "machine": "2-core CPU VM, no GPU, shared", "threads": args.threads, "date": time.strftime("%Y-%m-%d"),
            "python": platform.python_version(), "torch": torch.__version__, "optuna": optuna.__version__,
            "objective": f"mean validation accuracy (%) of {args.seeds} seeds after {args.epochs} epochs; "
                         f"validation = {args.val} images of the train half (seed {args.val_seed}), "
                         f"trained on the other {len(data.y_train)}; the test half unused",
            "seconds": time.perf_counter() - t_start,
            "n_trials": len(study.trials), "n_complete": len(done),
            "n_pruned": sum(t.state == optuna.trial.TrialState.PRUNED for t in study.trials),
            "best": None if best is None else {"value": best.value, "params": best.params, "number": best.number,
                                                "command": command_for(best.params)},
            "rerank": rerank,
            "chosen": None if not rerank else max(rerank, key=lambda r: r["mean"]),
            "top10": [{"number": t.number, "value": t.value, "params": t.params, **t.user_attrs} for t in ranked[:10]],
            "trials": [{"number": t.number, "state": t.state.name, "value": t.value, "params": t.params,
                        "last_step": t.last_step, **t.user_attrs} for t in study.trials],
        }
        from _record import save  # command, machine, date, load, code version (benchmarks/_record.py)
        save(out, record, __file__)
        v = "pruned" if trial.value is None else f"{trial.value:.2f} %"
        print(f"trial {trial.number:3d} {v:>9}  {trial.params}  "
              f"(best {study.best_value if done else float('nan'):.2f}, {time.perf_counter() - t_start:.0f} s)", flush=True)

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=args.sampler_seed),
                                pruner=optuna.pruners.MedianPruner(n_startup_trials=8, n_warmup_steps=5))
    study.enqueue_trial(BASELINE)
    if args.warm_start:
        for t in json.loads(Path(args.warm_start).read_text())["top10"][:3]:
            study.enqueue_trial(t["params"], skip_if_exists=True)
    study.optimize(objective, n_trials=args.trials, timeout=args.timeout, callbacks=[dump])
    print(f"best {study.best_value:.2f} % (validation): {study.best_params}")
    # short runs on 2 seeds are noisy: re-train the best few for longer on fresh seeds, still on validation only
    done = sorted([t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE], key=lambda t: -t.value)
    for t in done[:args.rerank]:
        t0 = time.perf_counter()
        accs = train_on_validation(t.params, data, args.rerank_seeds, args.rerank_epochs, seed=1000)
        rerank.append({"number": t.number, "search_value": t.value, "params": t.params,
                       "seeds": args.rerank_seeds, "seed": 1000, "epochs": args.rerank_epochs,
                       "val_accuracy_per_seed": accs, "mean": statistics.fmean(accs),
                       "median": statistics.median(accs), "seconds": time.perf_counter() - t0,
                       "command": command_for(t.params)})
        print(f"rerank trial {t.number}: {args.rerank_seeds} seeds × {args.rerank_epochs} epochs, validation "
              f"mean {statistics.fmean(accs):.2f} %  {[round(a, 1) for a in accs]}", flush=True)
        dump(study, t)
    chosen = max(rerank, key=lambda r: r["mean"]) if rerank else {"params": study.best_params}
    print("test-half run:", command_for(chosen["params"]))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
