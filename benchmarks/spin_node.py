"""Spin-NODE figures of issue 6: prediction, speed against the LLG twin, reservoir use, ONNX parity.

Each part writes ``benchmarks/results/spin_node_<part>.json``. Models and traces come from:

    hil run device_response --bench benches/spin_node.toml --param records=10 --param points=1000 --out out/spin_node/skyrmion.h5
    hil run device_response --bench benches/spin_node.toml --param records=2 --param points=1000 --param seed=1000 --out out/spin_node/skyrmion_test.h5
    hil train spin-node out/spin_node/skyrmion.h5 --observe mz --inputs field --hidden 50 --out out/spin_node/node_skyrmion.pt
    (the same with --param drive=current --param points=5000, --observe power_dbm --inputs current --hidden 100)

    python benchmarks/spin_node.py prediction --case skyrmion|oscillator
    python benchmarks/spin_node.py speed | reservoir | onnx

``--dir DIR`` (every part) reads the models and traces from DIR instead of out/spin_node/ and writes its
scratch files there (``benchmarks/run_all.py --quick`` points it at out/results-quick/spin_node/).
``prediction`` records the sha256 of the model's weights (``_record.weights_digest``) and keeps a copy of
the model file in results/models/ (16 kB and 47 kB at the published sizes).

The twin in ``speed`` and ``reservoir`` is the bench's skyrmion sample (same lattice, α, step,
relaxed state) run through its batched LLG integrator directly, so batch 64 is possible.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

from hil.bench import load_bench
from hil.models.spin_node import load, load_traces, nrmse
from hil.models.spin_node.train import predict_traces
from hil.protocols.device_response import period_amplitudes, sine_drive

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "out" / "spin_node"  # models and traces; --dir replaces it
RESULTS = Path(os.environ.get("HIL_RESULTS_DIR") or ROOT / "benchmarks" / "results")  # run_all --quick points it elsewhere
BENCH = ROOT / "benches" / "spin_node.toml"
CASES = {"skyrmion": ("mz", ["field"]), "oscillator": ("power_dbm", ["current"])}


def machine() -> dict:
    return {"cpu_count": os.cpu_count(), "platform": platform.platform(), "torch": torch.__version__,
            "threads": torch.get_num_threads(), "load_average": os.getloadavg(),
            "date": datetime.date.today().isoformat()}


def write(name: str, data: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"spin_node_{name}.json"
    data = dict(data, machine=machine())
    from _record import save  # command, machine, date, load, code version (benchmarks/_record.py)
    save(path, data, __file__, indent=2)
    print(json.dumps(data, indent=2))


# -- prediction -------------------------------------------------------------------

def prediction(case: str) -> None:
    observe, inputs = CASES[case]
    from _record import keep_weights

    model = load(OUT / f"node_{case}.pt")
    test = load_traces(OUT / f"{case}_test.h5", observe, inputs)
    pred = predict_traces(model, test)
    per = [nrmse(p, t.y) for p, t in zip(pred, test)]
    out = {"case": case, "test_traces": [t.source for t in test], "test_points": int(sum(len(t.y) for t in test)),
           "nrmse_test": nrmse(np.concatenate(pred), np.concatenate([t.y for t in test])), "nrmse_per_trace": per,
           "training": model.meta.history | {"traces": len(model.meta.training_traces)}}
    out["training"].pop("iteration", None), out["training"].pop("loss", None)
    out["model"] = {"file": _rel(OUT / f"node_{case}.pt"),
                    **keep_weights(RESULTS, f"node_{case}.pt", model, source=OUT / f"node_{case}.pt")}
    if case == "oscillator":
        out.update(_noise_floor(test, pred))
    write(f"prediction_{case}", out)


def _noise_floor(test, pred) -> dict:
    """The same test drives on the twin without thermal noise: what a perfect model could reach."""
    from hil.procedure import run_procedure
    from hil.protocols import get_procedure
    from hil.store import Store

    text = BENCH.read_text().replace("thermal_noise = 0.002", "thermal_noise = 0.0")
    quiet = OUT / "spin_node_quiet.toml"
    quiet.write_text(text)
    h5 = OUT / "oscillator_test_quiet.h5"
    h5.unlink(missing_ok=True)
    # the test set's own drives (records, points, seed) again, without the noise
    with Store(OUT / "oscillator_test.h5", "r") as store:
        params = store.run(store.run_ids()[-1]).attrs["params"]
    keep = {k: params[k] for k in ("drive", "records", "points", "seed")}
    with Store(h5) as store, load_bench(quiet).open() as bench:
        run_procedure(get_procedure("device_response"), bench, store, keep, progress=False)
    clean = load_traces(h5, "power_dbm", ["current"])
    noisy_y = np.concatenate([t.y for t in test])
    clean_y = np.concatenate([t.y for t in clean])
    return {"nrmse_noisy_twin_vs_noiseless_twin": nrmse(noisy_y, clean_y),
            "nrmse_node_vs_noiseless_twin": nrmse(np.concatenate(pred), clean_y)}


# -- the twin, batched -----------------------------------------------------------

class SampledField:
    """B_z(t) = drive(t) along z from samples on a uniform grid (vectorised for BatchField)."""

    def __init__(self, times: np.ndarray, field: np.ndarray):
        self.times, self.field = times, field

    def __call__(self, t: float) -> np.ndarray:
        return np.array([0.0, 0.0, np.interp(t, self.times, self.field, left=0.0, right=0.0)])

    def many(self, times: np.ndarray) -> np.ndarray:
        out = np.zeros((len(times), 3))
        out[:, 2] = np.interp(times, self.times, self.field, left=0.0, right=0.0)
        return out


def twin_traces(drives: np.ndarray, dt_sample: float, awg_rate: float, fine: np.ndarray) -> tuple[np.ndarray, float]:
    """Mean S_z (B, N) of the bench's skyrmion twin under fields ``fine`` (B, M) sampled at awg_rate; wall s."""
    from hil.sim.llg import Integrator
    from hil.sim.llg.fields import BatchField
    from hil.sim.twins.samples import skyrmion_sample

    opts = load_bench(BENCH).samples["skyrmion"].options
    sample = skyrmion_sample(**opts)
    b, n = drives.shape
    awg_t = np.arange(fine.shape[1]) / awg_rate
    fields = BatchField([SampledField(awg_t, fine[i]) for i in range(b)])
    integ = Integrator(sample.params, sample._initial, [sample.alpha], [sample.temperature], fields, sample.dt,
                       dtype=torch.float64, compile=True)
    # warm-up (compilation) on a throwaway copy of the same batch shape
    warm = Integrator(sample.params, sample._initial, [sample.alpha], [sample.temperature], fields, sample.dt,
                      dtype=torch.float64, compile=True)
    warm.advance_to(3 * dt_sample)
    out = np.empty((b, n))
    t0 = time.perf_counter()
    for k in range(n):
        integ.advance_to(k * dt_sample)
        out[:, k] = integ.spins[:, 2].mean(dim=(1, 2)).numpy()
    return out, time.perf_counter() - t0


def random_drives(b: int, n: int, seed: int, dt: float = 2.5e-12, f: float = 4e9, rate: float = 80e9):
    rng = np.random.default_rng(seed)
    times = dt * np.arange(n)
    fine_t = np.arange(int(np.ceil(times[-1] * rate)) + 2) / rate
    fine = np.stack([sine_drive(fine_t, period_amplitudes(rng, int(times[-1] * f) + 1, 0.05, 0.3), f)
                     for _ in range(b)])
    drives = np.stack([np.interp(times, fine_t, x) for x in fine])
    return drives, fine


# -- speed ------------------------------------------------------------------------

def speed(samples: int, repeats: int) -> None:
    load_start = os.getloadavg()  # machine() records it again at the end
    from hil.models.spin_node.fast import FastRollout
    from hil.models.spin_node.onnx import OnnxRollout, export_step

    model = load(OUT / "node_skyrmion.pt")
    fast, fast32 = FastRollout(model), FastRollout(model, np.float32)
    onnx_path = export_step(model, OUT / "node_skyrmion_step.onnx")
    ort = OnnxRollout(onnx_path, threads=1)
    rows = []
    for b in (1, 64):
        drives, fine = random_drives(b, samples, seed=500 + b)
        twin_y, twin_s = twin_traces(drives, 2.5e-12, 80e9, fine)
        y0 = twin_y[:, :2]
        node_y = model.predict(drives[:, :, None], y0)
        torch_s = _best(lambda: model.predict(drives[:, :, None], y0), repeats)
        s0 = model.normalise_y(y0).astype(np.float32)
        un = model.normalise_u(drives[:, :, None]).astype(np.float32)
        ort_s = _best(lambda: ort.rollout(s0, un), repeats)
        with torch.no_grad():
            ref = model.rollout(torch.as_tensor(s0), torch.as_tensor(un)).numpy()  # the model's float32 torch rollout
        diff = {name: float(np.abs(f.rollout(s0, un) - ref).max()) for name, f in (("f64", fast), ("f32", fast32))}
        fast_s = _best(lambda: fast.rollout(s0, un), repeats)
        fast32_s = _best(lambda: fast32.rollout(s0, un), repeats)
        rows.append({"batch": b, "samples": samples, "trace_s": samples * 2.5e-12, "twin_s": twin_s,
                     "node_torch_s": torch_s, "node_onnxruntime_s": ort_s, "node_numba_s": fast_s,
                     "node_numba_f32_s": fast32_s,
                     "speedup_torch": twin_s / torch_s, "speedup_onnxruntime": twin_s / ort_s,
                     "speedup_numba": twin_s / fast_s, "speedup_numba_f32": twin_s / fast32_s,
                     "numba_vs_torch_max_abs_state": diff,
                     "nrmse_node_vs_twin": nrmse(node_y, twin_y)})
        print(rows[-1], flush=True)
    write("speed", {"rows": rows, "twin": "bench skyrmion sample (L = 16, Heun 10 fs, compiled, float64), "
                    "batched integrator; S_z mean read every 2.5 ps",
                    "node": "Spin-NODE, one RK4 step per sample; numba: models/spin_node/fast.py, float64 and float32",
                    "timing": f"best of {repeats} for the node; one run for the twin (after compiling)",
                    "load_average_at_start": load_start})


def _best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


# -- reservoir --------------------------------------------------------------------

def mackey_glass(n: int, tau: float = 17.0, dt: float = 0.1, step: float = 1.0, seed: int = 0) -> np.ndarray:
    """Mackey–Glass x' = 0.2 x(t−τ)/(1 + x(t−τ)^10) − 0.1 x, sampled every ``step`` after a transient."""
    rng = np.random.default_rng(seed)
    lag = int(round(tau / dt))
    every = int(round(step / dt))
    burn = 1000 * every
    x = np.empty(burn + n * every + lag)
    x[:lag] = 1.2 + 0.01 * rng.standard_normal(lag)
    for i in range(lag, len(x)):
        xl = x[i - lag]
        x[i] = x[i - 1] + dt * (0.2 * xl / (1 + xl ** 10) - 0.1 * x[i - 1])
    return x[lag + burn::every][:n]


def reservoir(n_mg: int, segments: int, nodes: int, ridge: float, max_h: int) -> None:
    """MG value → sine amplitude for one 250 ps period; mean S_z at ``nodes`` points of the period as features."""
    model = load(OUT / "node_skyrmion.pt")
    x = mackey_glass(n_mg)
    amp = 0.05 + 0.25 * (x - x.min()) / (x.max() - x.min())
    per_seg = n_mg // segments
    f, dt, rate = 4e9, 2.5e-12, 80e9
    spp = int(round(1 / (f * dt)))  # samples per period
    # each segment: one washout period (amplitude of its first value), then its values
    seg_amp = np.stack([np.concatenate([[amp[s * per_seg]], amp[s * per_seg:(s + 1) * per_seg]])
                        for s in range(segments)])
    n = (per_seg + 1) * spp
    times = dt * np.arange(n)
    fine_t = np.arange(int(np.ceil(times[-1] * rate)) + 2) / rate
    fine = np.stack([sine_drive(fine_t, a, f) for a in seg_amp])
    drives = np.stack([np.interp(times, fine_t, z) for z in fine])
    twin_y, twin_s = twin_traces(drives, dt, rate, fine)
    node_y = model.predict(drives[:, :, None])
    pick = np.linspace(0, spp, nodes, endpoint=False).astype(int)
    curves = {}
    for name, y in (("twin", twin_y), ("node", node_y)):
        feats = y[:, spp:].reshape(segments, per_seg, spp)[:, :, pick].reshape(-1, nodes)
        curves[name] = _horizon_nrmse(feats, x[:segments * per_seg], ridge, max_h)
    c_t, c_n = np.array(curves["twin"]), np.array(curves["node"])
    rel = np.abs(c_n - c_t) / c_t
    write("reservoir", {"mackey_glass": {"tau": 17, "samples": n_mg, "step": 1.0},
                        "encoding": "MG value → amplitude 0.05–0.3 T of one 4 GHz sine period (250 ps)",
                        "features": f"mean S_z at {nodes} points per period + bias, ridge {ridge}",
                        "segments": segments, "twin_s": twin_s, "horizons": list(range(1, max_h + 1)),
                        "nrmse_twin": curves["twin"], "nrmse_node": curves["node"],
                        "max_relative_difference": float(rel.max()), "mean_relative_difference": float(rel.mean()),
                        "nrmse_node_vs_twin_mz": nrmse(node_y, twin_y)})


def _horizon_nrmse(feats: np.ndarray, x: np.ndarray, ridge: float, max_h: int) -> list[float]:
    n = len(x)
    split = int(0.65 * n)
    mu, sd = feats[:split].mean(0), feats[:split].std(0) + 1e-12
    z = np.hstack([(feats - mu) / sd, np.ones((n, 1))])
    out = []
    for h in range(1, max_h + 1):
        a_tr, y_tr = z[:split - h], x[h:split]
        w = np.linalg.solve(a_tr.T @ a_tr + ridge * np.eye(z.shape[1]), a_tr.T @ y_tr)
        a_te, y_te = z[split:n - h], x[split + h:]
        out.append(nrmse(a_te @ w, y_te))
    return out


# -- ONNX -------------------------------------------------------------------------

def onnx_parity(steps: int) -> None:
    from hil.models.spin_node.onnx import OnnxRollout, export_step

    model = load(OUT / "node_skyrmion.pt")
    path = export_step(model, OUT / "node_skyrmion_step.onnx")
    ort = OnnxRollout(path)
    rows = []
    for b in (1, 8):
        drives, _ = random_drives(b, steps + 1, seed=900 + b)
        s0 = np.tile(model.normalise_y(model.meta.y_init), (b, 1)).astype(np.float32)
        un = model.normalise_u(drives[:, :, None]).astype(np.float32)
        with torch.no_grad():
            ref = model.float().rollout(torch.as_tensor(s0), torch.as_tensor(un)).numpy()
        got = ort.rollout(s0, un)
        rows.append({"batch": b, "steps": steps, "max_abs_diff_normalised": float(np.abs(got - ref).max()),
                     "max_abs_diff_mz": float(np.abs(got - ref)[:, :, 0].max() * model.meta.y_std)})
    write("onnx", {"file": _rel(path), "bytes": path.stat().st_size, "rows": rows,
                   "dynamic_batch": "exported with batch 2, run with 1 and 8"})


def _rel(path: Path) -> str:
    return str(path.resolve().relative_to(ROOT)) if path.resolve().is_relative_to(ROOT) else str(path)


def main() -> None:
    global OUT
    torch.set_num_threads(1)
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="part", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--dir", default=str(OUT), help="folder of the models and traces (default %(default)s)")
    q = sub.add_parser("prediction", parents=[common])
    q.add_argument("--case", choices=sorted(CASES), required=True)
    q = sub.add_parser("speed", parents=[common])
    q.add_argument("--samples", type=int, default=40)
    q.add_argument("--repeats", type=int, default=5)
    q = sub.add_parser("reservoir", parents=[common])
    q.add_argument("--mg", type=int, default=240)
    q.add_argument("--segments", type=int, default=24)
    q.add_argument("--nodes", type=int, default=10)
    q.add_argument("--ridge", type=float, default=1e-4)
    q.add_argument("--max-h", type=int, default=30)
    q = sub.add_parser("onnx", parents=[common])
    q.add_argument("--steps", type=int, default=1000)
    a = p.parse_args()
    OUT = Path(a.dir)
    if a.part == "prediction":
        prediction(a.case)
    elif a.part == "speed":
        speed(a.samples, a.repeats)
    elif a.part == "reservoir":
        reservoir(a.mg, a.segments, a.nodes, a.ridge, a.max_h)
    else:
        onnx_parity(a.steps)


if __name__ == "__main__":
    main()
