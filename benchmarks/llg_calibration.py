"""Calibrate μ_s: the α = 0.36, θ = 40° triple at L = 100 must read
breathing / switching / collapse for t_w = 8 / 28 / 40 ps.

The three processes run batched as one (3, 3, L, L) tensor. Writes
benchmarks/results/llg_calibration[_L<L>][_mu<μ_s>][_dt<dt>].json (labels, Q and M_z per
frame, final observables, wall time) and a PNG of the S_z frames (_L only when L ≠ 100).

    .venv/bin/python benchmarks/llg_calibration.py            # μ_s = 0.7
    .venv/bin/python benchmarks/llg_calibration.py --mu-s 0.6 0.8
    .venv/bin/python benchmarks/llg_calibration.py --L 32     # ≈ 10 s: the code path only (run_all --quick);
                                                              # the labels are calibrated at L = 100
"""

from __future__ import annotations

import os
import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

from hil.sim.llg import FRAMES_15PS, LatticeParams, Pulse, simulate
from hil.sim.llg.units import FS, PS

RESULTS = Path(os.environ.get("HIL_RESULTS_DIR") or Path(__file__).parent / "results")  # run_all --quick points it elsewhere
EXPECTED = {8: "breathing", 28: "switching", 40: "collapse"}


def run(mu_s: float, L: int, dt_fs: float, threads: int, compile_mode) -> dict:
    torch.set_num_threads(threads)
    params = LatticeParams(L=L, mu_s=mu_s)
    widths = sorted(EXPECTED)
    pulses = [Pulse.from_degrees(t_w=w * PS, theta_deg=40.0) for w in widths]
    t0 = time.perf_counter()
    r = simulate(params, alphas=0.36, pulses=pulses, temperatures=0.0, frame_times=FRAMES_15PS,
                 dt=dt_fs * FS, progress=True, compile=compile_mode)
    wall = time.perf_counter() - t0
    out = {
        "what": "mu_s calibration: alpha=0.36, theta=40 deg, B0=2 T, t_p=40 ps, T=0",
        "machine": f"{platform.node()} ({platform.processor() or platform.machine()}), "
                   f"torch {torch.__version__}, {threads} thread(s), shared with other jobs",
        "params": {"L": L, "J_meV": params.J, "D_meV": params.D, "K_meV": params.K,
                   "mu_s_muB": mu_s, "periodic": params.periodic},
        "dt_fs": dt_fs,
        "t_w_ps": widths,
        "expected": [EXPECTED[w] for w in widths],
        "labels": r.labels,
        "match": r.labels == [EXPECTED[w] for w in widths],
        "label_final": r.label_final.tolist(),
        "final_time_ps": r.final_time / PS,
        "frame_times_ps": (r.times / PS).tolist(),
        "Q": np.round(r.Q, 4).tolist(),
        "Mz": np.round(r.M[:, :, 2], 4).tolist(),
        "energy_meV": np.round(r.energy, 3).tolist(),
        "final_Q": np.round(r.final_Q, 4).tolist(),
        "final_Mz": np.round(r.final_M[:, 2], 4).tolist(),
        "wall_s": round(wall, 1),
    }
    tag = ((f"_L{L}" if L != 100 else "") + (f"_mu{mu_s:g}" if abs(mu_s - 0.7) > 1e-12 else "")
           + (f"_dt{dt_fs:g}" if dt_fs != 2.0 else ""))
    RESULTS.mkdir(parents=True, exist_ok=True)
    from _record import save  # command, machine, date, load, code version (benchmarks/_record.py)
    save(RESULTS / f"llg_calibration{tag}.json", out, __file__)
    _plot(r, widths, RESULTS / f"llg_calibration{tag}.png", mu_s)
    return out


def _plot(r, widths, path: Path, mu_s: float) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(r.times)
    fig, axes = plt.subplots(len(widths), n, figsize=(1.6 * n, 1.8 * len(widths)), squeeze=False)
    for i, w in enumerate(widths):
        for k in range(n):
            ax = axes[i, k]
            ax.imshow(r.frames[i, k], cmap="RdBu_r", vmin=-1, vmax=1, origin="lower")
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(f"{r.times[k] / PS:.0f} ps", fontsize=8)
        axes[i, 0].set_ylabel(f"t_w={w} ps\n{r.labels[i]}", fontsize=8)
    fig.suptitle(f"S_z, μ_s = {mu_s} μ_B, α = 0.36, θ = 40°", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mu-s", type=float, nargs="+", default=[0.7])
    ap.add_argument("--L", type=int, default=100, help="lattice size (default 100, the calibrated one)")
    ap.add_argument("--dt-fs", type=float, default=2.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-compile", action="store_true")
    a = ap.parse_args()
    for mu in a.mu_s:
        out = run(mu, a.L, a.dt_fs, a.threads, False if a.no_compile else "auto")
        print(json.dumps({k: out[k] for k in ("params", "labels", "expected", "match",
                                              "final_Q", "final_Mz", "final_time_ps", "wall_s")}))


if __name__ == "__main__":
    main()
