"""Live labelling over ZMQ on loopback: latency at 200 frames/s and the highest sustained rate.

100 × 100 S_z frames (the relaxed L = 100 skyrmion of the LLG twin with small
per-frame changes) are published by this process; one or two labellers run
as ``hil stream label`` subprocesses (onnxruntime, one thread unless ``--threads``, spinning off);
a watcher subprocess stamps each label's arrival. Latency is arrival minus
the frame's publication stamp (same clock, same machine).

Labellers run with ``--spin-ms 0`` (sleep between frames) and, for the
latency runs, also ``--spin-ms 10`` (busy-poll: a core for lower latency).

Models: the quantile model is ``out/classifier/quantiles.pt`` when
benchmarks/classifier.py has trained it (trained at L = 32, it serves
100 × 100 frames as they are); the reference model needs 10 000 inputs for
these frames and no L = 100 training set fits on this CPU, so it runs with
freshly initialised weights of the reference shape (10 000 → 512 → 3):
latency and throughput depend on the shape, not on the weights.
``reference-int8`` is the same model through ``hil export classifier --int8``.

    .venv/bin/python benchmarks/streaming.py

Writes benchmarks/results/streaming.json (``--name``).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hil.stream import FramePublisher, Pacer, publish_process, watch  # noqa: E402

RESULTS = Path(os.environ.get("HIL_RESULTS_DIR") or ROOT / "benchmarks" / "results")  # run_all --quick points it elsewhere
FRAMES_PER_PROCESS = 8


def make_models(tmp: Path) -> dict[str, Path]:
    import torch

    from hil.onnx_io import quantize_int8
    from hil.models.classifier import ClassifierConfig, ProcessClassifier, export_onnx, load

    torch.manual_seed(0)  # the reference model's (untrained) weights
    trained = ROOT / "out" / "classifier" / "quantiles.pt"
    models = {"reference": ProcessClassifier(ClassifierConfig("sorted", 100 * 100, 512))}
    models["quantiles"] = load(trained) if trained.exists() else ProcessClassifier(ClassifierConfig("quantiles", 256, 512))
    paths = {name: export_onnx(model, tmp / f"{name}.onnx", version="benchmark",
                               trained=trained.exists() and name == "quantiles")
             for name, model in models.items()}
    paths["reference-int8"] = quantize_int8(paths["reference"], tmp / "reference-int8.onnx")
    return paths


def frames_100() -> np.ndarray:
    from hil.sim.llg import LatticeParams, relaxed_skyrmion

    sz = relaxed_skyrmion(LatticeParams(L=100))[2].astype(np.float32)
    rng = np.random.default_rng(0)
    return np.clip(sz[None] + rng.normal(0, 0.01, (FRAMES_PER_PROCESS, 100, 100)), -1, 1).astype(np.float32)


def watcher(endpoints: list[str], expected: int, conn, timeout: float, spin_s: float = 0.0) -> None:
    """Subprocess: collect (arrival − sent) of every per-frame label until ``expected`` arrived or timeout."""
    lat, seen = [], set()
    deadline = time.time() + timeout
    conn.send("ready")

    def handle(h):
        lat.append(time.time() - h["sent"])
        seen.add((h["process"], h["seq"]))

    watch(endpoints, handle, until=lambda: len(lat) >= expected or time.time() > deadline, kinds=(b"label",),
          spin_s=spin_s)
    conn.send({"latencies": lat, "unique": len(seen), "last_arrival": time.time()})


def one_run(model: Path, labellers: int, frames: np.ndarray, n_frames: int, rate: float | None,
            port: int, spin_ms: float = 0.0, threads: int = 1) -> dict:
    fin = f"tcp://127.0.0.1:{port}"
    outs = [f"tcp://127.0.0.1:{port + 1 + i}" for i in range(labellers)]
    procs = [subprocess.Popen([sys.executable, "-m", "hil.app.cli", "stream", "label", "--model", str(model),
                               "--in", fin, "--out", o, "--index", str(i), "--count", str(labellers),
                               "--threads", str(threads), "--spin-ms", str(spin_ms)], stderr=subprocess.PIPE, text=True)
             for i, o in enumerate(outs)]
    parent, child = mp.Pipe()
    w = mp.get_context("spawn").Process(target=watcher, args=(outs, n_frames, child, 120.0, spin_ms * 1e-3))
    w.start()
    parent.recv()
    pub = FramePublisher(fin, hwm=1000)
    try:
        pub.wait_for_subscribers(30)
        time.sleep(0.5)  # labellers' PUB sockets connected to the watcher
        t0 = time.time()
        n_proc = n_frames // FRAMES_PER_PROCESS
        pacer = Pacer(rate) if rate else None  # one schedule for the whole stream
        for k in range(n_proc):
            publish_process(pub, f"p{k}", ((j * 15e-12, f) for j, f in enumerate(frames)), rate=pacer)
        sent_s = time.time() - t0
        res = parent.recv()
    finally:
        pub.close()
        for p in procs:
            p.terminate()
        stats = [p.communicate(timeout=30)[1].strip().splitlines()[-1] for p in procs]
        w.join(10)
    lat = np.array(res["latencies"]) * 1e3
    span = res["last_arrival"] - t0
    return {"labellers": labellers, "rate_requested": rate, "frames": n_frames,
            "labels_received": len(lat), "unique": res["unique"], "lost": n_frames - res["unique"],
            "backpressure_waits": pub.backpressure, "publish_s": round(sent_s, 3),
            "achieved_fps": round(n_frames / span, 1),
            "p50_ms": round(float(np.percentile(lat, 50)), 3) if len(lat) else None,
            "p99_ms": round(float(np.percentile(lat, 99)), 3) if len(lat) else None,
            "max_ms": round(float(lat.max()), 3) if len(lat) else None, "labeller_stats": stats}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="reference,reference-int8,quantiles")
    ap.add_argument("--latency-frames", type=int, default=2000)
    ap.add_argument("--spin-ms", default="0,10", help="labeller busy-poll settings for the latency runs")
    ap.add_argument("--threads", type=int, default=1, help="onnxruntime threads per labeller in the latency runs")
    ap.add_argument("--throughput-frames", type=int, default=8000)
    ap.add_argument("--rates", default="1000,2000,3000,5000,7000,10000")
    ap.add_argument("--labellers", default="1,2")
    ap.add_argument("--port", type=int, default=57100)
    ap.add_argument("--name", default="streaming", help="results/NAME.json")
    a = ap.parse_args()
    frames = frames_100()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        models = make_models(Path(tmp))
        port = a.port
        for name in a.models.split(","):
            path = models[name]
            for spin in [float(x) for x in a.spin_ms.split(",") if x]:
                r = one_run(path, 1, frames, a.latency_frames, 200.0, port, spin_ms=spin, threads=a.threads)
                port += 10
                r.update(model=name, test="latency@200fps", spin_ms=spin, threads=a.threads)
                print({k: r[k] for k in ("model", "spin_ms", "lost", "p50_ms", "p99_ms", "max_ms")}, flush=True)
                rows.append(r)
            for labellers in [int(x) for x in a.labellers.split(",") if x]:
                for rate in [float(x) for x in a.rates.split(",") if x] + [None]:
                    r = one_run(path, labellers, frames, a.throughput_frames, rate, port)
                    port += 10
                    r.update(model=name, test="throughput")
                    print({k: r[k] for k in ("model", "labellers", "rate_requested", "achieved_fps", "lost",
                                             "backpressure_waits", "p50_ms", "p99_ms")}, flush=True)
                    rows.append(r)
    out = {"machine": f"{platform.node()} ({os.cpu_count()} cores, load {os.getloadavg()[0]:.1f})",
           "date": "2026-11-21", "command": "benchmarks/streaming.py " + " ".join(sys.argv[1:]),
           "frame": "100 x 100 float32", "rows": rows}
    RESULTS.mkdir(parents=True, exist_ok=True)
    from _record import save  # command, machine, date, load, code version (benchmarks/_record.py)
    save(RESULTS / f"{a.name}.json", out, __file__)
    print(f"→ {RESULTS / a.name}.json")


if __name__ == "__main__":
    main()
