"""Speed of the batched LLG integrator: spin-steps per second at L = 100.

Measures the whole Integrator.advance_to path (field evaluation, checks,
noise) for B = 1 and B = 8, eager and torch.compile'd, float64 and
float32, with and without the stochastic field; reports the one-off
compile time too. Writes benchmarks/results/llg_speed.json.

    .venv/bin/python benchmarks/llg_speed.py [--threads 1] [--steps 400]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import torch

from sim.llg import Integrator, LatticeParams, Pulse, relaxed_skyrmion
from sim.llg.fields import BatchField
from sim.llg.units import FS, PS

RESULTS = Path(__file__).parent / "results"


def measure(params, spins, B, dtype, compiled, temperature, steps, device):
    pulses = [Pulse.from_degrees(t_w=8 * PS, theta_deg=40.0)] * B
    integ = Integrator(params, spins, 0.36, temperature, BatchField(pulses), dt=2 * FS, device=device,
                       dtype=dtype, seeds=list(range(B)), compile=compiled)
    integ.time = 30 * PS  # pulse on
    t0 = time.perf_counter()
    integ.advance_to(integ.time + 10 * 2 * FS)  # warm-up (and compile)
    first = time.perf_counter() - t0
    if device != "cpu":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    integ.advance_to(integ.time + steps * 2 * FS)
    if device != "cpu":
        torch.cuda.synchronize()
    wall = time.perf_counter() - t0
    return {"B": B, "dtype": str(dtype).replace("torch.", ""), "compiled": compiled,
            "temperature_K": temperature, "steps": steps, "wall_s": round(wall, 3),
            "spin_steps_per_s": float(f"{steps * B * params.L ** 2 / wall:.3g}"),
            "ms_per_step": round(wall / steps * 1e3, 3), "warmup_s": round(first, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--L", type=int, default=100)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    params = LatticeParams(L=a.L)
    spins = relaxed_skyrmion(params)
    cases = [
        (1, torch.float64, False, 0.0), (8, torch.float64, False, 0.0),
        (1, torch.float64, True, 0.0), (8, torch.float64, True, 0.0),
        (1, torch.float32, True, 0.0), (8, torch.float32, True, 0.0),
        (8, torch.float64, True, 1.5), (8, torch.float32, True, 1.5),
    ]
    rows = []
    for B, dtype, compiled, T in cases:
        r = measure(params, spins, B, dtype, compiled, T, a.steps, a.device)
        rows.append(r)
        print(r)
    out = {
        "what": f"Integrator.advance_to at L = {a.L}, dt = 2 fs, pulse on; spin-steps/s = steps·B·L²/wall",
        "machine": f"{platform.node()} ({os.cpu_count()} cores, shared with other jobs: "
                   f"load {os.getloadavg()[0]:.1f}), torch {torch.__version__}, {a.threads} thread(s), "
                   f"device {a.device}",
        "date": "2026-11-21",
        "rows": rows,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    suffix = ("" if a.device == "cpu" else f"_{a.device}") + ("" if a.threads == 1 else f"_{a.threads}threads")
    (RESULTS / f"llg_speed{suffix}.json").write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
