"""Time-step convergence of the Heun LLG step, with the field pulse on.

Start from the relaxed skyrmion and integrate the 5 ps around the peak of
the pulse (t = 35 → 40 ps of a pulse centred at 40 ps, so the field is
0.8–1.0 B0 from the first step), α = 0.36, θ = 40°, for several dt; report
the largest |S_i(dt) − S_i(ref)| over all spins against a 0.1 fs
reference, and the observed order. Also runs the steps beyond the accepted
limit (the integrator's check switched off) to show where the scheme
breaks down. Writes benchmarks/results/llg_convergence.json (other
settings: llg_convergence_L<L>_w<window>_tw<t_w>.json).

    .venv/bin/python benchmarks/llg_convergence.py [--L 100] [--window-ps 5]
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

from hil.sim.llg import Integrator, LatticeParams, Pulse, max_time_step, relaxed_skyrmion
from hil.sim.llg import integrator as integrator_module
from hil.sim.llg.fields import BatchField
from hil.sim.llg.units import FS, GAMMA, PS

RESULTS = Path(os.environ.get("HIL_RESULTS_DIR") or Path(__file__).parent / "results")  # run_all --quick points it elsewhere


def run_one(params, spins0, pulse, t_start, window, dt, compile_flag):
    field = BatchField([lambda t: pulse(t + t_start)])
    integ = Integrator(params, spins0, 0.36, 0.0, field, dt, compile=compile_flag)
    t0 = time.perf_counter()
    integ.advance_to(window)
    return integ.spins[0].numpy(), time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--L", type=int, default=100)
    ap.add_argument("--window-ps", type=float, default=5.0)
    ap.add_argument("--t-w-ps", type=float, default=8.0)
    ap.add_argument("--ref-fs", type=float, default=0.1)
    ap.add_argument("--dts-fs", type=float, nargs="+", default=[0.5, 1, 2, 3, 5, 10])
    ap.add_argument("--beyond-fs", type=float, nargs="*", default=[20, 40, 80])
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    params = LatticeParams(L=a.L)
    spins0 = relaxed_skyrmion(params)
    pulse = Pulse.from_degrees(t_w=a.t_w_ps * PS, theta_deg=40.0)
    t_start = pulse.t_p - a.window_ps * PS
    window = a.window_ps * PS
    compile_flag = a.L >= 64
    ref, ref_wall = run_one(params, spins0, pulse, t_start, window, a.ref_fs * FS, compile_flag)
    rows = []
    for dt_fs in a.dts_fs + a.beyond_fs:
        beyond = dt_fs in a.beyond_fs
        saved = integrator_module.MAX_ANGLE_PER_STEP
        if beyond:
            integrator_module.MAX_ANGLE_PER_STEP = math.inf
        try:
            s, wall = run_one(params, spins0, pulse, t_start, window, dt_fs * FS, compile_flag)
        finally:
            integrator_module.MAX_ANGLE_PER_STEP = saved
        err = float(np.abs(s - ref).max())
        angle = GAMMA * (params.internal_field_bound() + pulse.B0) * dt_fs * FS
        rows.append({"dt_fs": dt_fs, "max_spin_error": err, "max_angle_per_step_rad": angle,
                     "accepted_by_integrator": not beyond, "wall_s": round(wall, 2)})
        print(f"dt = {dt_fs:5.2f} fs  max|ΔS| = {err:.3e}  angle/step ≤ {angle:.3f} rad  ({wall:.1f} s)")
    for r0, r1 in zip(rows, rows[1:]):
        if r0["max_spin_error"] > 0 and r1["max_spin_error"] > 0:
            r1["order_vs_previous"] = math.log(r1["max_spin_error"] / r0["max_spin_error"]) / math.log(
                r1["dt_fs"] / r0["dt_fs"])
    out = {
        "what": f"max |S(dt) - S(ref)| after {a.window_ps} ps with the pulse on "
                f"(t = {t_start / PS:.0f}..{pulse.t_p / PS:.0f} ps, t_w = {a.t_w_ps} ps, B0 = 2 T, "
                "theta = 40 deg, alpha = 0.36, T = 0), start: relaxed skyrmion",
        "machine": f"{platform.node()}, torch {torch.__version__}, {a.threads} thread(s), float64, "
                   "shared with other jobs",
        "date": "2026-11-21",
        "L": a.L, "mu_s": params.mu_s, "reference_dt_fs": a.ref_fs, "reference_wall_s": round(ref_wall, 1),
        "max_dt_accepted_fs_no_field": max_time_step(params, 0.0) / FS,
        "max_dt_accepted_fs_2T": max_time_step(params, 2.0) / FS,
        "rows": rows,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    default = a.window_ps == 5.0 and a.t_w_ps == 8.0 and a.L == 100
    name = "llg_convergence.json" if default else f"llg_convergence_L{a.L}_w{a.window_ps:g}_tw{a.t_w_ps:g}.json"
    from _record import save  # command, machine, date, load, code version (benchmarks/_record.py)
    save(RESULTS / name, out, __file__)


if __name__ == "__main__":
    main()
