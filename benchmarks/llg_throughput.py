"""Throughput of the batched LLG integrator: spin-steps per second (spins × steps / wall).

The whole Integrator.advance_to path (field evaluation, step checks, noise,
NaN check) at L = 100, dt = 2 fs, pulse on, float64: batch 1 and 16, T = 0
and T = 1.5 K, the numba and the torch.compile backends, 1 and 2 threads
(torch.set_num_threads, which the numba backend follows too). Each case is
timed ``--repeats`` times and the best kept (the machine is shared). Also
the one-off costs: numba's first compile with an empty cache (a subprocess
with its own NUMBA_CACHE_DIR), the cached start, and torch.compile's warm-up.
With ``--device cuda`` it measures the torch backend on the GPU instead,
including the whole 44 × 40 diagram (1760 samples) in one batch.
Writes benchmarks/results/llg_throughput.json (…_cuda.json on a GPU).

    .venv/bin/python benchmarks/llg_throughput.py [--threads 1 2] [--backends numba torch]
    .venv/bin/python benchmarks/llg_throughput.py --device cuda --batches 1 16 1760
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from hil.sim.llg import Integrator, LatticeParams, Pulse, relaxed_skyrmion
from hil.sim.llg.fields import BatchField
from hil.sim.llg.units import FS, PS

RESULTS = Path(os.environ.get("HIL_RESULTS_DIR") or Path(__file__).parent / "results")  # run_all --quick points it elsewhere
ROOT = Path(__file__).resolve().parent.parent


def measure(params, spins, B, backend, temperature, steps, device, repeats, dtype=torch.float64):
    """Best-of-``repeats`` spin-steps/s of ``steps`` Heun steps of B samples with the pulse on.

    backend: 'numba', 'torch' (torch.compile) or 'eager' (torch, not compiled).
    """
    compiled = backend != "eager"
    pulses = [Pulse.from_degrees(t_w=8 * PS, theta_deg=40.0)] * B
    integ = Integrator(params, spins, 0.36, temperature, BatchField(pulses), dt=2 * FS, device=device,
                       dtype=dtype, seeds=list(range(B)), compile=compiled,
                       backend="torch" if backend == "eager" else backend)
    integ.time = 30 * PS  # pulse on
    t0 = time.perf_counter()
    integ.advance_to(integ.time + 10 * 2 * FS)  # warm-up (torch.compile, numba cache load)
    warmup = time.perf_counter() - t0
    best = best_cpu = float("inf")
    for _ in range(repeats):
        if device != "cpu":
            torch.cuda.synchronize()
        t0, c0 = time.perf_counter(), time.process_time()
        integ.advance_to(integ.time + steps * 2 * FS)
        if device != "cpu":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    assert bool(torch.isfinite(integ.spins).all())
    return {"backend": backend, "B": B, "temperature_K": temperature, "threads": torch.get_num_threads(),
            "dtype": str(dtype).replace("torch.", ""), "steps": steps, "best_wall_s": round(best, 4),
            "spin_steps_per_s": float(f"{steps * B * params.L ** 2 / best:.3g}"),
            # per CPU-second of this process (all its threads): what each core
            # delivers, which other jobs on the machine change far less than wall time
            "spin_steps_per_cpu_s": float(f"{steps * B * params.L ** 2 / best_cpu:.3g}"),
            "warmup_s": round(warmup, 2), "load_1min": round(os.getloadavg()[0], 2)}


def numba_cold_compile() -> dict:
    """Wall time of the first numba call with an empty cache, and with the cache filled."""
    code = ("import time, numpy as np; t = time.perf_counter(); from hil.sim.llg import kernels_numba as kn; "
            "S = np.zeros((2, 3, 16, 16)); S[:, 2] = 1; F = np.zeros((3, 2, 3)); "
            "kn.advance(S, F, np.ones(2) * 1e-4, np.ones(2) * 1e-5, (1, .2, .1), True); "
            "print(time.perf_counter() - t, kn.threading_layer())")
    out = {}
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        for name in ("cold_compile_s", "cached_start_s"):
            r = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True,
                               check=True)
            secs, layer = r.stdout.split()
            out[name] = round(float(secs), 2)
            out["threading_layer"] = layer
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--backends", nargs="+", default=["numba", "torch"], choices=["numba", "torch", "eager"])
    ap.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 16])
    ap.add_argument("--temperatures", type=float, nargs="+", default=[0.0, 1.5])
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--L", type=int, default=100)
    a = ap.parse_args()
    params = LatticeParams(L=a.L)
    spins = relaxed_skyrmion(params)
    backends = a.backends if a.device == "cpu" else [b for b in a.backends if b != "numba"] or ["torch"]
    threads = a.threads if a.device == "cpu" else [torch.get_num_threads()]
    rows = []
    extra = {}
    if "numba" in backends:
        extra["numba_compile"] = numba_cold_compile()
        print(extra["numba_compile"], flush=True)
    for th in threads:
        torch.set_num_threads(th)
        for backend in backends:
            for B in a.batches:
                for T in a.temperatures:
                    r = measure(params, spins, B, backend, T, a.steps, a.device, a.repeats,
                                getattr(torch, a.dtype))
                    rows.append(r)
                    print(r, flush=True)
                    write(a, extra, rows)  # after every row: a long run stopped early keeps its rows


def write(a, extra: dict, rows: list) -> None:
    versions = f"torch {torch.__version__}"
    try:
        import numba

        versions += f", numba {numba.__version__}"
    except ImportError:
        pass
    out = {
        "what": f"Integrator.advance_to at L = {a.L}, dt = 2 fs, pulse on, {a.dtype}; "
                "spin-steps/s = steps·B·L²/wall, best of repeats; "
                "spin_steps_per_cpu_s divides by the process's CPU time instead",
        "machine": f"{platform.node()} ({os.cpu_count()} cores, shared with other jobs), {versions}, "
                   f"device {a.device}, uptime load {os.getloadavg()}",
        "date": "2026-11-21",
        **extra,
        "rows": rows,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    suffix = ("" if a.device == "cpu" else f"_{a.device}") + ("" if a.dtype == "float64" else f"_{a.dtype}")
    from _record import save  # command, machine, date, load, code version (benchmarks/_record.py)
    save(RESULTS / f"llg_throughput{suffix}.json", out, __file__)


if __name__ == "__main__":
    main()
