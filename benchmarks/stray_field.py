"""Stray-field CNN: validation MSE, reconstruction of LLG skyrmions imaged by the NV twin, a PNG of examples.

Run after ``hil train stray-field --data out/stray/shapes.h5 --out out/stray/stray.onnx``::

    .venv/bin/python benchmarks/stray_field.py --model out/stray/stray.onnx --data out/stray/shapes.h5

Validation figures come from onnxruntime (the deployed model) and are checked
against torch. The skyrmion test: the relaxed L = 100 skyrmion read as a film
(cell 10 nm, t = 1 nm, M_s = 1 MA/m), scanned by the NV twin at several
heights d (pixel d/2, 32 × 32, 2 µT noise) and lateral offsets. Its B_z is
that of the out-of-plane texture (1 + m_z)/2 with 2 M_s (uniform background:
no field; Bloch: ∇·m_xy = 0), so the map is scaled with 2 M_s and the truth is
(1 + m_z)/2 — the part of the texture the field can show at all.
Writes results/stray_field.json and results/stray_field_examples.png. The JSON records the sha256 of the
trained weights (``_record.weights_digest`` of the .pt checkpoint beside the ONNX file); the weights are kept
in results/models/ only when small (the published CNN's checkpoint is ≈ 0.66 MB: digest only).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

RESULTS = Path(os.environ.get("HIL_RESULTS_DIR") or Path(__file__).resolve().parent / "results")  # run_all --quick: elsewhere


def skyrmion_scans(heights: list[float], offsets: int, seed: int = 0):
    """(b, truth |m|, truth m_z, bz in T, settings) for each height × lateral offset."""
    from hil.sim.llg import LatticeParams, relaxed_skyrmion
    from hil.sim.stray import ScanSettings, equivalent_texture, scaled_field, scan

    spins = relaxed_skyrmion(LatticeParams(L=100))
    out = []
    for d in heights:
        settings = ScanSettings(height=d, pixel=d / 2, pixels=32, thickness=1e-9, ms=1.0e6, cell=10e-9, noise=2e-6)
        for j in range(offsets):
            # each scan its own stream, keyed by (seed, height in pm, offset): the same scan whatever other
            # heights or offsets run beside it (issue 19; before, one stream ran through the whole list)
            rng = np.random.default_rng([seed, round(d * 1e12), j])
            centre = tuple(50 + rng.uniform(-0.2, 0.2, size=2) * 32 * settings.pixel / settings.cell)
            bz = scan(spins, settings, centre=centre, rng=rng)
            truth = equivalent_texture(spins, settings, centre=centre)
            b = scaled_field(bz, d, settings.thickness, 2 * settings.ms)
            out.append((b, np.abs(truth), truth, bz, settings))
    return out


def plot_examples(val, pred_val, sky, pred_sky, path: Path, n_val: int = 4, n_sky: int = 2) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [("ellipse", val.b[i], val.amplitude[i], pred_val[i, 0], val.mz[i], pred_val[i, 1]) for i in range(n_val)]
    pick = np.linspace(0, len(sky) - 1, n_sky).astype(int)
    rows += [(f"skyrmion, d = {sky[i][4].height * 1e9:.0f} nm", sky[i][0], sky[i][1], pred_sky[i, 0], sky[i][2],
              pred_sky[i, 1]) for i in pick]
    titles = ["b = −4πd B_z/(μ0 M_s t)", "true |m|", "CNN |m|", "true m_z", "CNN m_z"]
    fig, axes = plt.subplots(len(rows), 5, figsize=(12, 2.4 * len(rows)))
    for r, (name, *imgs) in enumerate(rows):
        for c, img in enumerate(imgs):
            ax = axes[r, c]
            if c == 0:
                v = float(np.abs(img).max())
                ax.imshow(img, cmap="RdBu_r", vmin=-v, vmax=v, origin="lower")
                ax.set_ylabel(name, fontsize=8)
            elif c in (1, 2):
                ax.imshow(img, cmap="viridis", vmin=0, vmax=1, origin="lower")
            else:
                ax.imshow(img, cmap="RdBu_r", vmin=-1, vmax=1, origin="lower")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(titles[c], fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="out/stray/stray.onnx")
    ap.add_argument("--data", default="out/stray/shapes.h5")
    ap.add_argument("--name", default="stray_field", help="results/<name>.json and results/<name>_examples.png")
    ap.add_argument("--heights", default="15e-9,20e-9,30e-9,40e-9", help="NV heights d for the skyrmion test, m")
    ap.add_argument("--offsets", type=int, default=4, help="lateral offsets per height")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(1)
    from hil.models.stray_cnn import evaluate, load_checkpoint, load_dataset, predict
    from hil.models.stray_onnx import StrayFieldSession

    model_path = Path(args.model)
    session = StrayFieldSession(model_path, threads=1)
    _, val, params = load_dataset(args.data, session.meta.get("training_run"))
    start = time.perf_counter()
    pred_val = session.reconstruct(val.b)
    infer_s = time.perf_counter() - start
    parity = float(np.abs(pred_val - predict(load_checkpoint(model_path.with_suffix(".pt")), val.b)).max())
    val_metrics = evaluate(pred_val, val)
    zero_mse = float(np.mean(val.amplitude ** 2))

    sky = skyrmion_scans([float(h) for h in args.heights.split(",")], args.offsets)
    pred_sky = session.reconstruct(np.stack([s[0] for s in sky]))
    per_scan = []
    for (b, amp, mz, bz, st), p in zip(sky, pred_sky):
        per_scan.append({"height_m": st.height, "mse_amplitude": float(np.mean((p[0] - amp) ** 2)),
                         "mse_mz": float(np.mean((p[1] - mz) ** 2)),
                         "relative_l2_amplitude": float(np.linalg.norm(p[0] - amp) / np.linalg.norm(amp)),
                         "mse_zero_prediction": float(np.mean(amp ** 2)),
                         "peak_bz_T": float(np.abs(bz).max())})
    by_height = {}
    for rec in per_scan:
        by_height.setdefault(f"{rec['height_m'] * 1e9:g} nm", []).append(rec)
    summary_sky = {h: {k: float(np.mean([r[k] for r in recs])) for k in recs[0] if k != "height_m"}
                   for h, recs in by_height.items()}
    all_sky = {k: float(np.mean([r[k] for r in per_scan])) for k in per_scan[0] if k != "height_m"}

    history_path = model_path.with_suffix(".json")
    training = json.loads(history_path.read_text()) if history_path.exists() else {}
    RESULTS.mkdir(exist_ok=True)
    png = RESULTS / f"{args.name}_examples.png"
    plot_examples(val, pred_val, sky, pred_sky, png)
    # one skyrmion scan in tesla + its truth, for trying `hil reconstruct` by hand
    b0, amp0, _, bz0, st0 = sky[len(sky) // 2]
    np.save(RESULTS / f"{args.name}_skyrmion_bz.npy", bz0.astype(np.float32))
    np.save(RESULTS / f"{args.name}_skyrmion_truth.npy", amp0.astype(np.float32))
    result = {
        "command": f"benchmarks/stray_field.py --model {args.model} --data {args.data}",
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "torch": torch.__version__,
                    "loadavg_at_end": os.getloadavg()},
        "data": {k: params[k] for k in ("run_id", "n", "n_train", "pixels", "pixel", "fine", "thickness",
                                         "a_min", "a_max", "edge", "seed")},
        "validation": {**val_metrics, "n": int(len(val.b)), "mse_amplitude_zero_prediction": zero_mse,
                       "published_reference_mse": 9.55e-4, "onnx_vs_torch_max_abs": parity,
                       "onnx_inference_s_per_map": infer_s / len(val.b)},
        "skyrmion": {"scans": len(per_scan), "mean": all_sky, "by_height": summary_sky,
                     "scan": {"cell_m": st0.cell, "thickness_m": st0.thickness, "ms_A_per_m": st0.ms,
                              "noise_T": st0.noise, "pixel": "d/2", "scaled_with": "2 M_s",
                              "truth": "(1 + m_z)/2"},
                     "example_files": [f"{args.name}_skyrmion_bz.npy", f"{args.name}_skyrmion_truth.npy"],
                     "example_height_m": st0.height},
        "training": {k: training.get(k) for k in ("train_seconds", "threads", "config", "run_id")}
                    | {"epochs_run": len(training.get("history", [])),
                       "best_epoch": (training.get("best") or {}).get("epoch")},
        "png": png.name,
    }
    from _record import keep_weights, save  # command, machine, date, load, code version (benchmarks/_record.py)

    checkpoint = model_path.with_suffix(".pt")
    result["model"] = {"file": str(model_path), "checkpoint": str(checkpoint),
                       **keep_weights(RESULTS, f"{args.name}.pt", checkpoint, source=checkpoint)}
    save(RESULTS / f"{args.name}.json", result, __file__)
    v = result["validation"]
    print(f"validation (n = {v['n']}): MSE |m| {v['mse_amplitude']:.3e} (zero map {zero_mse:.3e}; published 9.55e-4), "
          f"MSE m_z {v['mse_mz']:.3e}, θ error {v['theta_error_deg']:.1f}°, ONNX−torch {parity:.1e}")
    print(f"skyrmions ({len(per_scan)} scans): MSE |m| {all_sky['mse_amplitude']:.3e} (zero map "
          f"{all_sky['mse_zero_prediction']:.3e}), relative L2 {all_sky['relative_l2_amplitude']:.3f}")
    for h, s in summary_sky.items():
        print(f"  d = {h}: MSE |m| {s['mse_amplitude']:.3e}, relative L2 {s['relative_l2_amplitude']:.3f}")
    print(f"→ {RESULTS / (args.name + '.json')}, {png}")


if __name__ == "__main__":
    main()
