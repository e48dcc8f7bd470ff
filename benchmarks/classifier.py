"""Skyrmion-process classifier: reference (sorted S_z) against quantile profile, on the twin's processes.

Data come from the process-diagram protocol (``hil sim diagram``, see the
commands in benchmarks/RESULTS.md): training on the interior points of a
θ = 50° diagram; evaluation against the physics labels on a θ = 40° diagram
and on processes never seen in kind (frames every 5 ps over 90 ps; T = 1.5 K).
Both models train on the same processes with the same seed and hold-out.

    .venv/bin/python benchmarks/classifier.py --train out/classifier/train_theta50.h5 \\
        --eval out/classifier/eval_theta40.h5 --unseen out/classifier/eval_5ps.h5 out/classifier/eval_T1.5K.h5

Writes benchmarks/results/classifier.json and classifier.png (the diagram
drawn by each network beside the physics one, and confusion matrices), and
the trained models to out/classifier/{sorted,quantiles}.pt.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hil.models.classifier import ClassifierConfig, save  # noqa: E402
from hil.models.process_data import interior, read_processes  # noqa: E402
from hil.models.train_classifier import evaluate, predict_probs, train_classifier  # noqa: E402
from hil.labels import COLOURS  # noqa: E402

RESULTS = Path(os.environ.get("HIL_RESULTS_DIR") or ROOT / "benchmarks" / "results")  # run_all --quick points it elsewhere


def draw(ax, data, labels, title):
    for lab in dict.fromkeys(labels):
        sel = [i for i, x in enumerate(labels) if x == lab]
        ax.scatter(data.t_w[sel] * 1e12, data.alpha[sel], c=COLOURS.get(lab, "k"), marker="s", s=55,
                   label=f"{lab} ({len(sel)})")
    ax.set(xlabel="t_w (ps)", ylabel="α", title=title)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1, 1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", required=True)
    ap.add_argument("--eval", required=True, help="θ = 40° diagram run")
    ap.add_argument("--unseen", nargs="*", default=[], help="runs of processes never seen in kind")
    ap.add_argument("--quantiles", type=int, default=256)
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--epochs", type=int, default=400)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)

    train_all = read_processes(a.train)
    train = train_all.subset(interior(train_all))
    evals = {"theta40": read_processes(a.eval)}
    for path in a.unseen:
        evals[Path(path).stem] = read_processes(path)
    L = train.frames.shape[-1]
    out: dict = {"train": {"file": a.train, "interior_counts": train.counts(), "all_counts": train_all.counts(),
                           "lattice": L, "frames": int(train.frames.shape[1])},
                 "eval_counts": {k: v.counts() for k, v in evals.items()}, "models": {}}
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(16, 9))
    draw(axes[0, 0], evals["theta40"], evals["theta40"].labels, f"physics labels, θ = 40°, L = {L}")
    for row, kind in enumerate(("sorted", "quantiles")):
        size = L * L if kind == "sorted" else a.quantiles
        cfg = ClassifierConfig(preprocessing=kind, input_size=size, hidden=a.hidden)
        t0 = time.perf_counter()
        res = train_classifier(train, cfg, epochs=a.epochs, seed=a.seed, progress=True)
        train_s = time.perf_counter() - t0
        save(res.model, ROOT / "out" / "classifier" / f"{kind}.pt")
        entry = {"input_size": size, "train_s": round(train_s, 1), "best_epoch": res.best_epoch + 1,
                 "epochs_run": len(res.history["val_loss"]), "trained_on": res.trained_on,
                 "held_out_accuracy": res.history["val_accuracy"][res.best_epoch], "eval": {}}
        for name, data in evals.items():
            probs = predict_probs(res.model, data.frames)[:, -1]
            ev = evaluate(probs, data.labels, cfg.labels, cfg.threshold)
            entry["eval"][name] = {k: v for k, v in ev.items() if k != "decided"}
            print(f"{kind:<9} {name:<12} accuracy {100 * ev['accuracy']:.1f} %  per class "
                  + ", ".join(f"{k} {100 * v['accuracy']:.0f} % (n={v['n']})" for k, v in ev["per_class"].items()))
            if name == "theta40":
                draw(axes[0, 1 + row], data, ev["decided"], f"{kind} network ({size} inputs)")
                ax = axes[1, 1 + row]
                cm = np.array(ev["confusion"])
                ax.imshow(cm, cmap="Blues")
                for (i, j), v in np.ndenumerate(cm):
                    ax.text(j, i, str(v), ha="center", va="center")
                ax.set(xticks=range(len(ev["columns"])), xticklabels=ev["columns"], yticks=range(len(ev["rows"])),
                       yticklabels=ev["rows"], xlabel="network", ylabel="physics", title=f"{kind}: θ = 40° confusion")
        out["models"][kind] = entry
    axes[1, 0].axis("off")
    axes[1, 0].text(0, 0.9, "\n".join(
        f"{k}: θ=40° {100 * v['eval']['theta40']['accuracy']:.1f} %, "
        + ", ".join(f"{n} {100 * e['accuracy']:.1f} %" for n, e in v["eval"].items() if n != "theta40")
        for k, v in out["models"].items()), va="top", fontsize=9)
    fig.tight_layout()
    RESULTS.mkdir(parents=True, exist_ok=True)
    fig.savefig(RESULTS / "classifier.png", dpi=90)
    out.update(machine=f"{platform.node()} ({os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}), "
                       f"torch {torch.__version__}, {a.threads} thread(s)", date="2026-11-21",
               command="benchmarks/classifier.py " + " ".join(sys.argv[1:]))
    from _record import save  # command, machine, date, load, code version (benchmarks/_record.py)
    save(RESULTS / "classifier.json", out, __file__)
    print(f"→ {RESULTS / 'classifier.json'}, {RESULTS / 'classifier.png'}")


if __name__ == "__main__":
    main()
