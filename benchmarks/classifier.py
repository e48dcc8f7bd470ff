"""Skyrmion-process classifier at L = 100: which way of flagging mixed processes works, and the model that ships.

Data come from the process-diagram study (``hil sim diagram``, commands in
benchmarks/classifier_data.sh and benchmarks/RESULTS.md): training on the
θ = 50° diagram, evaluation against the physics labels on the θ = 40° diagram
and on processes never seen in kind (frames every 5 ps over 90 ps; T = 1.5 K).

Variants (512 sigmoid units, same seed): on the 256-quantile profile

- ``paper``: three classes, interior points of the training diagram, no class
  ≥ 0.8 → mixed/unknown (the published rule);
- ``3cal``: three classes on every clear point, the threshold calibrated on
  out-of-fold probabilities of the training diagram (its mixed points are the
  out-of-distribution examples): a calibrated OOD score;
- ``4cls`` / ``4w``: "mixed" learnt as a fourth class from the training
  diagram's mixed points (``4w``: weighted 0.5 in the loss), τ 0.8 / 0.5;

and on the quantiles plus the reversed-region count of each frame
(``quantiles+regions``, :func:`hil.models.preprocess.region_features`: sorting
forgets that a mixed process holds two skyrmions where a clear one holds one):

- ``r4``, ``r4w``: four classes (``r4w``: mixed weighted 0.5), τ 0.5;
- ``r4cal``: four classes, τ calibrated.

Every candidate (all but ``paper``) is scored on 5-fold out-of-fold
probabilities of the *training* diagram (clear right + mixed flagged); the best
score is the variant that ships (``--ship-variant auto``), so the evaluation
sets never choose. Calibrated thresholds come from the same out-of-fold
probabilities (the most mixed points flagged while ≥ 97 % of clear ones stay
right). ``--seed-spread N`` retrains the chosen variant with seeds 0 … N−1 and
reports each, since one seed is one draw. The reference net (sorted S_z of
every spin, 10 000 inputs) is trained as ``--reference`` says. ``--ship``
exports the chosen variant to ``models/shipped/classifier_L100.onnx`` with its
provenance in the metadata, int8 when int8 keeps every decision.

    .venv/bin/python benchmarks/classifier.py --train out/classifier/train_theta50.h5 \\
        --eval out/classifier/eval_theta40.h5 --unseen out/classifier/eval_5ps.h5 out/classifier/eval_T1.5K.h5 --ship

Writes benchmarks/results/classifier_L100.json and classifier_L100.png (the
physics diagram beside the shipped network's, and its confusion matrix).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from _record import keep_weights, provenance, write_result  # noqa: E402

from hil.labels import CLASSES, COLOURS, MIXED, PHYSICS, UNKNOWN  # noqa: E402
from hil.models.classifier import LABELS, LABELS_WITH_MIXED, ClassifierConfig, export_onnx, save  # noqa: E402
from hil.models.preprocess import input_size  # noqa: E402
from hil.models.process_data import interior, read_processes  # noqa: E402
from hil.models.train_classifier import (calibrate_threshold, evaluate, out_of_fold_probs,  # noqa: E402
                                         predict_probs, train_classifier)

RESULTS = Path(os.environ.get("HIL_RESULTS_DIR") or ROOT / "benchmarks" / "results")
SHIPPED = ROOT / "models" / "shipped" / "classifier_L100.onnx"
VARIANTS = {  # name: (labels, training points, threshold rule, preprocessing)
    "paper": (LABELS, "interior", 0.8, "quantiles"),
    "3cal": (LABELS, "all", "calibrated", "quantiles"),
    "4cls": (LABELS_WITH_MIXED, "all", 0.8, "quantiles"),
    "4arg": (LABELS_WITH_MIXED, "all", 0.5, "quantiles"),  # the reference run's variant (RESULTS.md)
    "4w": (LABELS_WITH_MIXED, "all-w", 0.5, "quantiles"),  # mixed weighted 0.5 in the loss (shipped in session 4)
    "r4": (LABELS_WITH_MIXED, "all", 0.5, "quantiles+regions"),
    "r4w": (LABELS_WITH_MIXED, "all-w", 0.5, "quantiles+regions"),
    "r4cal": (LABELS_WITH_MIXED, "all", "calibrated", "quantiles+regions"),
}
DEFAULT_VARIANTS = "paper,3cal,4w,r4,r4w,r4cal"
MIXED_WEIGHT = 0.5
DESCRIBE = {"paper": "3 classes, interior points, τ = 0.8 (published rule)",
            "3cal": "3 classes, all clear points, τ calibrated (OOD score)",
            "4cls": "4 classes (mixed learnt), τ = 0.8", "4arg": "4 classes (mixed learnt), τ = 0.5",
            "4w": f"4 classes, mixed weighted {MIXED_WEIGHT} in the loss, τ = 0.5",
            "r4": "4 classes + region counts, τ = 0.5",
            "r4w": f"4 classes + region counts, mixed weighted {MIXED_WEIGHT}, τ = 0.5",
            "r4cal": "4 classes + region counts, τ calibrated"}


def draw(ax, data, labels, title):
    """One diagram: a square per (t_w, α) point, coloured by label."""
    order = [x for x in (*PHYSICS, UNKNOWN) if x in labels]
    for lab in order:
        sel = [i for i, x in enumerate(labels) if x == lab]
        ax.scatter(data.t_w[sel] * 1e12, data.alpha[sel], c=COLOURS.get(lab, "k"), marker="s", s=70,
                   label=f"{lab} ({len(sel)})")
    ax.set(xlabel="pulse width t_w (ps)", ylabel="Gilbert damping α (dimensionless)", title=title)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1), title="label (count)", title_fontsize=8)


def confusion_text(ev: dict) -> str:
    head = "physics \\ network: " + " | ".join(ev["columns"])
    rows = [f"{r}: " + " ".join(str(v) for v in row) for r, row in zip(ev["rows"], ev["confusion"])]
    return "; ".join([head] + rows)


def spec_of(path: str) -> dict:
    """The training data's spec as the store keeps it (the diagram's parameters and its run id)."""
    from hil.store import Store

    with Store(path, "r") as store:
        [run_id] = store.run_ids()
        params = dict(store.run(run_id).attrs["params"])
    keep = ("theta_deg", "temperature", "size", "mu_s", "periodic", "dt", "t_p", "settle", "seed")
    out = {k: params[k] for k in keep if k in params}
    out.update(run_id=run_id, file=Path(path).name,
               alphas=f"{min(params['alphas']):g}:{max(params['alphas']):g}:{len(params['alphas'])}",
               t_w_ps=f"{min(params['widths']) * 1e12:g}:{max(params['widths']) * 1e12:g}:{len(params['widths'])}",
               frame_times_ps=[round(t * 1e12, 3) for t in params["frame_times"]])
    return out


def dt_check(train, train_path: str, other_path: str) -> dict:
    """Physics labels of the same (α, t_w) points at the training run's time step and at another one."""
    other = read_processes(other_path)
    dts = (spec_of(train_path)["dt"], spec_of(other_path)["dt"])
    pairs = []
    for a_, w_, lab in zip(other.alpha, other.t_w, other.labels):
        k = int(np.argmin(np.abs(train.alpha - a_) / 0.6 + np.abs(train.t_w - w_) / 40e-12))
        assert abs(train.alpha[k] - a_) < 1e-6 and abs(train.t_w[k] - w_) < 1e-15, "not a training-grid point"
        pairs.append({"alpha": round(float(a_), 4), "t_w_ps": round(float(w_) * 1e12, 3), "train": train.labels[k],
                      "other": lab})
    same = sum(p["train"] == p["other"] for p in pairs)
    print(f"time step {dts[0] * 1e15:g} fs vs {dts[1] * 1e15:g} fs: {same}/{len(pairs)} points with the same "
          f"physics label")
    return {"dt_fs": [round(d * 1e15, 3) for d in dts], "same": same, "points": len(pairs), "pairs": pairs}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", required=True)
    ap.add_argument("--eval", required=True, help="θ = 40° diagram run")
    ap.add_argument("--unseen", nargs="*", default=[], help="runs of processes never seen in kind")
    ap.add_argument("--quantiles", type=int, default=256)
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--epochs", type=int, default=300)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--min-clear", type=float, default=0.97, help="calibration: clear processes kept right (OOF)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reference", default="", help="variants also trained on the sorted 10 000-input profile "
                                                      "(comma list; empty: none)")
    ap.add_argument("--dt-check", default=None, metavar="RUN.h5",
                    help="points of the training grid simulated at another time step: compare their physics labels")
    ap.add_argument("--name", default="classifier_L100", help="results/NAME.json and NAME.png")
    ap.add_argument("--variants", default=DEFAULT_VARIANTS, help="quantile variants to train (comma list)")
    ap.add_argument("--work", default=str(ROOT / "out" / "classifier"),
                    help="folder for the trained torch models and ONNX exports (default %(default)s)")
    ap.add_argument("--seed-spread", type=int, default=5, metavar="N",
                    help="retrain the chosen variant with seeds 0 … N−1 and report each (0/1: skip)")
    ap.add_argument("--ship", action="store_true", help="export the chosen variant into models/shipped/")
    ap.add_argument("--ship-variant", default="auto",
                    help="variant to ship; auto: the best on the training diagram's out-of-fold score")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    Path(a.work).mkdir(parents=True, exist_ok=True)
    rec = provenance(None, __file__, a.threads)

    train_all = read_processes(a.train)
    evals = {"theta40": read_processes(a.eval)}
    for path in a.unseen:
        if Path(path).exists():
            evals[Path(path).stem] = read_processes(path)
    L = train_all.frames.shape[-1]
    out: dict = {**rec, "train": {"spec": spec_of(a.train), "counts": train_all.counts(),
                                   "interior_counts": train_all.subset(interior(train_all)).counts()},
                 "eval_counts": {k: v.counts() for k, v in evals.items()}, "variants": {}, "reference": {}}
    print(f"training diagram: {train_all.counts()}; evaluation: {out['eval_counts']}")
    if a.dt_check and Path(a.dt_check).exists():
        out["dt_check"] = dt_check(train_all, a.train, a.dt_check)
    kw = dict(epochs=a.epochs, lr=1e-3, seed=a.seed)

    def config_of(kind: str, labels) -> ClassifierConfig:
        return ClassifierConfig(preprocessing=kind, input_size=input_size(kind, a.quantiles, L * L), hidden=a.hidden,
                                labels=labels)

    def weight_of(points: str):
        return {MIXED: MIXED_WEIGHT} if points == "all-w" else None

    def train_one(kind: str, labels, points: str):
        cfg = config_of(kind, labels)
        data = train_all.subset(interior(train_all)) if points == "interior" else train_all
        t0 = time.perf_counter()
        res = train_classifier(data, cfg, progress=False, class_weight=weight_of(points), **kw)
        return res, cfg, data, time.perf_counter() - t0

    def judge(model, threshold) -> dict:
        res = {}
        for name, data in evals.items():
            probs = predict_probs(model, data.frames)[:, -1]
            ev = evaluate(probs, data.labels, model.config.labels, threshold)
            res[name] = {k: v for k, v in ev.items()}
        return res

    models, oof, oof_scores = {}, {}, {}
    for name, (labels, points, rule, kind) in [(k, VARIANTS[k]) for k in a.variants.split(",") if k]:
        key = (tuple(labels), points, kind)
        if key not in models:
            models[key] = train_one(kind, labels, points)
            print(f"  trained {labels} on {points} points ({kind}) in {models[key][3]:.1f} s")
        res, cfg, data, secs = models[key]
        entry = {"describe": DESCRIBE[name], "preprocessing": kind, "input_size": cfg.input_size,
                 "train_s": round(secs, 1), "trained_on": res.trained_on, "best_epoch": res.best_epoch + 1}
        if points != "interior" and key not in oof:  # the published variant is a reference, not a candidate
            t0 = time.perf_counter()
            oof[key] = (out_of_fold_probs(train_all, config_of(kind, labels), folds=a.folds, seed=a.seed,
                                          epochs=a.epochs, lr=1e-3, class_weight=weight_of(points)),
                        round(time.perf_counter() - t0, 1))
        if rule == "calibrated":
            tau, cal = calibrate_threshold(oof[key][0], train_all.labels, tuple(labels), a.min_clear)
            entry.update(threshold=tau, calibration={"rule": cal["rule"], "min_clear": a.min_clear})
        else:
            entry["threshold"] = rule
        if key in oof:  # how the variant does on training processes it never saw: what the choice reads
            o = evaluate(oof[key][0], train_all.labels, tuple(labels), entry["threshold"])
            entry["out_of_fold"] = {"clear_accuracy": o["clear_accuracy"], "mixed_flagged": o["mixed_flagged"],
                                    "confusion": o["confusion"], "columns": o["columns"], "folds": a.folds,
                                    "seconds": oof[key][1]}
            oof_scores[name] = o["clear_accuracy"] + o["mixed_flagged"]
        ev = judge(res.model, entry["threshold"])
        entry["eval"] = {k: {kk: vv for kk, vv in v.items() if kk != "decided"} for k, v in ev.items()}
        entry["decided_theta40"] = ev["theta40"]["decided"]
        out["variants"][name] = entry
        e = ev["theta40"]
        of = entry.get("out_of_fold")
        print(f"{name:<6} τ={entry['threshold']:.2f}  "
              + (f"θ=50° out of fold: {100 * of['clear_accuracy']:.1f} / {100 * of['mixed_flagged']:.1f} %  " if of else "")
              + f"θ=40°: clear right {100 * e['clear_accuracy']:.1f} %, "
              f"mixed flagged {100 * e['mixed_flagged']:.1f} %, all {100 * e['accuracy']:.1f} %  | "
              + confusion_text(e))
        for other in evals:
            if other != "theta40":
                o = ev[other]
                print(f"        {other}: clear right {100 * o['clear_accuracy']:.1f} %, mixed flagged "
                      f"{100 * o['mixed_flagged']:.1f} % (n mixed {o['per_class'][MIXED]['n']})")

    for name in [v for v in a.reference.split(",") if v]:
        labels, points, rule, _ = VARIANTS[name]
        res, cfg, data, secs = train_one("sorted", labels, points)
        tau = rule if rule != "calibrated" else out["variants"][name]["threshold"]
        ev = judge(res.model, tau)
        save(res.model, Path(a.work) / f"sorted_{name}.pt")
        out["reference"][name] = {"describe": f"reference (sorted S_z, {L * L} inputs): {DESCRIBE[name]}",
                                  "threshold": tau, "train_s": round(secs, 1), "best_epoch": res.best_epoch + 1,
                                  "eval": {k: {kk: vv for kk, vv in v.items() if kk != "decided"}
                                           for k, v in ev.items()}}
        e = ev["theta40"]
        print(f"ref {name:<6} ({L * L} inputs, {secs:.0f} s) θ=40°: clear right {100 * e['clear_accuracy']:.1f} %, "
              f"mixed flagged {100 * e['mixed_flagged']:.1f} % | " + confusion_text(e))

    # the variant to ship: chosen on the training diagram (out-of-fold), never on the evaluation sets
    if a.ship_variant == "auto":
        chosen = max(oof_scores, key=oof_scores.get) if oof_scores else next(iter(out["variants"]))  # balanced, OOF
    else:
        chosen = a.ship_variant
    out["chosen"] = chosen
    labels, points, _, kind = VARIANTS[chosen]
    model = models[(tuple(labels), points, kind)][0].model
    model.config.threshold = float(out["variants"][chosen]["threshold"])
    save(model, Path(a.work) / f"quantiles_{chosen}.pt")
    save(model, Path(a.work) / "quantiles.pt")  # what benchmarks/streaming.py labels with
    out["weights"] = keep_weights(RESULTS, f"{a.name}_{chosen}.pt", model)  # digest; the ONNX ships the model
    how = "out-of-fold on the training diagram" if a.ship_variant == "auto" else "--ship-variant"
    out["chosen_by"] = how
    print(f"chosen ({how}): {chosen} — {DESCRIBE[chosen]}")
    if a.seed_spread > 1:  # one seed is one draw: how much the figures move with the seed alone
        out["seed_spread"] = seed_spread(chosen, a, train_all, evals, config_of(kind, labels),
                                         weight_of(points), float(model.config.threshold))

    # the chosen model's trade-off on the evaluation set: clear right against mixed flagged, per threshold
    final = predict_probs(model, evals["theta40"].frames)[:, -1]
    out["tradeoff_theta40"] = []
    for tau in (0.3, 0.5, 0.6, 0.7, 0.8, 0.9):
        ev = evaluate(final, evals["theta40"].labels, model.config.labels, tau)
        out["tradeoff_theta40"].append({"threshold": tau, "clear_right": round(ev["clear_accuracy"], 4),
                                        "mixed_flagged": round(ev["mixed_flagged"], 4)})
    print("trade-off on θ = 40°: " + ", ".join(f"τ {t['threshold']}: {100 * t['clear_right']:.1f} / "
                                               f"{100 * t['mixed_flagged']:.1f} %" for t in out["tradeoff_theta40"]))
    if a.ship:
        out["shipped"] = ship(model, chosen, out, evals, a)

    draw_figure(out, evals, chosen, L, a.name)
    out["variants"] = {k: {kk: vv for kk, vv in v.items() if kk != "decided_theta40"}
                       for k, v in out["variants"].items()}
    write_result(RESULTS / f"{a.name}.json", out)
    print(f"→ {RESULTS / (a.name + '.json')}, {RESULTS / (a.name + '.png')}")


def seed_spread(chosen: str, a, train_all, evals: dict, cfg, weight, threshold: float) -> dict:
    """The chosen variant retrained with seeds 0 … N−1: clear right and mixed flagged per evaluation set and seed."""
    per_seed = {name: {"clear_right": [], "mixed_flagged": []} for name in evals}
    digests: list[str] = []
    for seed in range(a.seed_spread):
        res = train_classifier(train_all, ClassifierConfig(**{**cfg.__dict__, "run_ids": []}), epochs=a.epochs,
                               lr=1e-3, seed=seed, progress=False, class_weight=weight)
        digests.append(keep_weights(RESULTS, f"{a.name}_{chosen}_seed{seed}.pt", res.model)["sha256"])
        for name, data in evals.items():
            ev = evaluate(predict_probs(res.model, data.frames)[:, -1], data.labels, cfg.labels, threshold)
            per_seed[name]["clear_right"].append(round(ev["clear_accuracy"], 4))
            per_seed[name]["mixed_flagged"].append(round(ev["mixed_flagged"], 4))
    out = {"variant": chosen, "seeds": list(range(a.seed_spread)), "threshold": threshold, "per_set": {},
           "sha256": digests}
    for name, v in per_seed.items():
        out["per_set"][name] = {**v, "median_clear_right": float(np.median(v["clear_right"])),
                                "median_mixed_flagged": float(np.median(v["mixed_flagged"])),
                                "min_clear_right": min(v["clear_right"]), "min_mixed_flagged": min(v["mixed_flagged"])}
    t = out["per_set"]["theta40"]
    print(f"seeds 0–{a.seed_spread - 1} of {chosen}, θ = 40°: clear right {t['clear_right']} (median "
          f"{100 * t['median_clear_right']:.1f} %), mixed flagged {t['mixed_flagged']} (median "
          f"{100 * t['median_mixed_flagged']:.1f} %)")
    return out


def equivalent_cli(name: str, threshold: float, a) -> str:
    """The `hil train classifier` line that trains the same model (same seed, data and settings)."""
    labels, points, _, kind = VARIANTS[name]
    flags = ["--interior"] if points == "interior" else []
    if MIXED in labels:
        flags.append("--mixed")
    if points == "all-w":
        flags += ["--mixed-weight", f"{MIXED_WEIGHT:g}"]
    flags += ["--preprocessing", kind]
    return (f"hil train classifier {a.train} {' '.join(flags)} --threshold {threshold:g} --quantiles {a.quantiles} "
            f"--hidden {a.hidden} --epochs {a.epochs} --seed {a.seed} --out model.pt; "
            "hil export classifier model.pt model.onnx --int8").replace("  ", " ")


def ship(model, chosen: str, out: dict, evals: dict, a) -> dict:
    """Export the chosen model with provenance; int8 when int8 keeps every decision on every set."""
    from hil.models.classifier_onnx import StepSession

    v = out["variants"][chosen]
    accuracy = {name: {"clear_right": round(e["clear_accuracy"], 4), "mixed_flagged": round(e["mixed_flagged"], 4),
                       "all": round(e["accuracy"], 4), "confusion": e["confusion"], "rows": e["rows"],
                       "columns": e["columns"]} for name, e in v["eval"].items()}
    meta = {
        "training_command": out["command"],
        "data": {"train": out["train"]["spec"], "train_counts": out["train"]["counts"],
                 "eval_counts": out["eval_counts"],
                 "generated_by": "benchmarks/classifier_data.sh (hil sim diagram, see benchmarks/RESULTS.md)"},
        "variant": f"{chosen}: {DESCRIBE[chosen]}",
        "equivalent_cli": equivalent_cli(chosen, v["threshold"], a),
        "date": datetime.date.today().isoformat(),
        "code": out["code"],
        "accuracy": accuracy,
        "threshold_calibration": v.get("calibration"),
        "lattice_trained": out["train"]["spec"].get("size"),
    }
    fp32 = Path(a.work) / "shipped_fp32.onnx"
    export_onnx(model, fp32, **meta)
    i8 = Path(a.work) / "shipped_int8.onnx"
    export_onnx(model, i8, int8=True, **meta)
    s32, s8 = StepSession(fp32), StepSession(i8)
    same, worst = True, 0.0
    sets = {"train": read_processes(a.train), **evals}
    for name, data in sets.items():
        p32, p8 = s32.run_batch(data.frames)[:, -1], s8.run_batch(data.frames)[:, -1]
        worst = max(worst, float(np.abs(p32 - p8).max()))
        same &= [s32.decide(p) for p in p32] == [s8.decide(p) for p in p8]
    src = i8 if same else fp32
    SHIPPED.parent.mkdir(parents=True, exist_ok=True)
    SHIPPED.write_bytes(src.read_bytes())
    if not same:  # the float32 file ships: its recipe has no --int8
        from hil.onnx_io import write_metadata

        write_metadata(SHIPPED, {**s32.meta, "equivalent_cli": meta["equivalent_cli"].replace(" --int8", ""),
                                 "int8_rejected": f"int8 weights changed a decision (max |Δp| {worst:.3f})"})
    info = {"file": str(SHIPPED.relative_to(ROOT)), "weights": "int8" if same else "float32",
            "bytes": SHIPPED.stat().st_size, "float32_bytes": fp32.stat().st_size, "int8_bytes": i8.stat().st_size,
            "int8_same_decisions": bool(same), "int8_max_prob_change": round(worst, 4)}
    print(f"shipped → {SHIPPED} ({info['weights']}, {info['bytes'] / 1e6:.2f} MB; int8 same decisions: {same}, "
          f"max |Δp| {worst:.3f})")
    return info


def draw_figure(out: dict, evals: dict, chosen: str, L: int, name: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = evals["theta40"]
    v = out["variants"][chosen]
    fig, axes = plt.subplots(1, 3, figsize=(19, 5.6), gridspec_kw={"width_ratios": [1, 1, 0.9]})
    draw(axes[0], data, data.labels, f"physics labels (LLG twin), θ = 40°, L = {L}")
    draw(axes[1], data, v["decided_theta40"],
         f"network ({chosen}: {DESCRIBE[chosen]}),\nθ = 40°, trained on θ = 50°")
    ax = axes[2]
    e = v["eval"]["theta40"]
    cm = np.array(e["confusion"])
    ax.imshow(cm, cmap="Blues")
    for (i, j), n in np.ndenumerate(cm):
        ax.text(j, i, str(n), ha="center", va="center", color="white" if n > cm.max() / 2 else "black")
    ax.set(xticks=range(len(e["columns"])), xticklabels=e["columns"], yticks=range(len(e["rows"])),
           yticklabels=e["rows"], xlabel="network's answer", ylabel="physics label",
           title=f"confusion, θ = 40° (counts of processes)\nclear right {100 * e['clear_accuracy']:.1f} %, "
                 f"mixed flagged {100 * e['mixed_flagged']:.1f} % (τ = {v['threshold']:.2f})")
    ax.tick_params(axis="x", labelrotation=30)
    ax.title.set_fontsize(10)
    fig.tight_layout()
    RESULTS.mkdir(parents=True, exist_ok=True)
    fig.savefig(RESULTS / f"{name}.png", dpi=90)
    plt.close(fig)


if __name__ == "__main__":
    main()
