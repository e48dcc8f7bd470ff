"""Two accuracy checks of the Heun step that the unit tests only sample.

1. Energy drift at α = 0, T = 0 in a static tilted field (0.8, 0, 0.6) T,
   from an unrelaxed skyrmion ansatz (strong dynamics), L = 12, 10 ps, for
   dt = 1, 2, 5 fs: relative drift |E(10 ps) − E(0)|/|E(0)|.
2. Free spins (J = D = K = 0, μ_s = 1 μ_B, B = 10 T) at x = μ_sB/k_BT =
   0.5, 1.5, 4 (α = 1, 1, 0.6) on a 96×96 lattice: ⟨S_z⟩ against the
   Langevin function coth x − 1/x, for dt = 5 and 2 fs.

Writes benchmarks/results/llg_energy_thermal.json.

    .venv/bin/python benchmarks/llg_energy_thermal.py [--L-thermal 96]
"""

from __future__ import annotations

import os
import argparse
import json
import math
import platform
import time
from pathlib import Path

import numpy as np
import torch

from hil.sim.llg import Integrator, LatticeParams, energy, skyrmion_ansatz
from hil.sim.llg.fields import BatchField
from hil.sim.llg.units import FS, K_B, MU_B, PS

RESULTS = Path(os.environ.get("HIL_RESULTS_DIR") or Path(__file__).parent / "results")  # run_all --quick points it elsewhere


def energy_drift(dt_fs: float) -> float:
    p = LatticeParams(L=12)
    b = np.array([0.8, 0.0, 0.6])
    start = skyrmion_ansatz(12, radius=3.0, helicity=-math.pi / 2)
    integ = Integrator(p, start, 0.0, 0.0, BatchField([lambda t: b]), dt=dt_fs * FS, compile=False)
    e0 = float(energy(integ.spins, p, b)[0])
    integ.advance_to(10 * PS)
    return abs(float(energy(integ.spins, p, b)[0]) - e0) / abs(e0)


def langevin_check(dt_fs: float, L: int) -> dict:
    B = 10.0
    xs = np.array([0.5, 1.5, 4.0])
    p = LatticeParams(L=L, J=0.0, D=0.0, K=0.0, mu_s=1.0)
    start = np.zeros((3, L, L))
    start[2] = 1.0
    integ = Integrator(p, start, [1.0, 1.0, 0.6], MU_B * B / (K_B * xs),
                       BatchField([lambda t: np.array([0.0, 0.0, B])] * 3), dt=dt_fs * FS,
                       seeds=[1, 2, 3], compile=False)
    integ.advance_to(6 * PS)
    s = []
    for k in range(1, 41):
        integ.advance_to(6 * PS + k * 0.25 * PS)
        s.append(integ.spins[:, 2].mean((-2, -1)).numpy())
    s = np.array(s)
    mean = s.mean(0)
    err = s.reshape(10, 4, 3).mean(1).std(0, ddof=1) / math.sqrt(10)
    exact = np.array([1 / math.tanh(x) - 1 / x for x in xs])
    return {"dt_fs": dt_fs, "x": xs.tolist(), "mean_Sz": mean.round(5).tolist(),
            "langevin": exact.round(5).tolist(), "stat_error": err.round(5).tolist(),
            "deviation_in_sigma": ((mean - exact) / err).round(2).tolist()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--L-thermal", type=int, default=96)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    t0 = time.perf_counter()
    drift = {f"{dt:g}": energy_drift(dt) for dt in (1, 2, 5)}
    print("relative energy drift over 10 ps:", drift)
    thermal = [langevin_check(dt, a.L_thermal) for dt in (5, 2)]
    for row in thermal:
        print(row)
    out = {"what": __doc__.split("\n\n")[1], "machine": f"{platform.node()}, torch {torch.__version__}, "
           f"{a.threads} thread(s), float64, shared with other jobs", "date": "2026-11-21",
           "energy_drift_relative_10ps": drift, "langevin": thermal,
           "wall_s": round(time.perf_counter() - t0, 1)}
    RESULTS.mkdir(parents=True, exist_ok=True)
    from _record import save  # command, machine, date, load, code version (benchmarks/_record.py)
    save(RESULTS / "llg_energy_thermal.json", out, __file__)


if __name__ == "__main__":
    main()
