"""Live labelling over ZMQ on loopback: latency at 200 frames/s and the highest sustained rate.

100 × 100 S_z frames (the relaxed L = 100 skyrmion of the LLG twin with small
per-frame changes) are published by this process; one or two labellers run
as ``hil stream label`` subprocesses (onnxruntime, one thread unless ``--threads``, spinning off);
a watcher subprocess stamps each label's arrival. Latency is arrival minus
the frame's publication stamp (same clock, same machine).

Labellers run with ``--spin-ms 0`` (sleep between frames) and, for the
latency runs, also ``--spin-ms 10`` (busy-poll: a core for lower latency).

Latency under load: ``--background 0,2`` runs every latency row on an idle
machine and again with two CPU-bound busy processes running for the whole
row (``--background-priority normal|nice|idle``: as they come, at nice 19,
or SCHED_IDLE); ``--pin`` starts the labeller on a core of its own
(``hil stream label --cpu``, the last core this process may use) and keeps
the busy processes off it. Each row records its load (``background``,
``background_priority``, ``labeller_core``) and the publisher's
acknowledgement count (``unlabelled``). A busy-polling labeller gives way
(sleeps between frames for ``--spin-backoff-ms``) when it finds its core
taken; ``--spin-backoff-ms 0`` measures it without.

Models: the quantile model is ``out/classifier/quantiles.pt`` when
benchmarks/classifier.py has trained it (the torch twin of the shipped L = 100
model: 256 quantiles plus the frame's region count, so each frame also pays
for the region labelling); the reference model needs 10 000 inputs for
these frames and no L = 100 training set fits on this CPU, so it runs with
freshly initialised weights of the reference shape (10 000 → 512 → 3):
latency and throughput depend on the shape, not on the weights.
``reference-int8`` is the same model through ``hil export classifier --int8``;
``quantiles-plain`` the 256-quantile shape without the region count, untrained.

    .venv/bin/python benchmarks/streaming.py
    .venv/bin/python benchmarks/streaming.py --background 0,2 --labellers "" --name streaming_load

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


def make_models(tmp: Path, wanted: list[str] | None = None) -> dict[str, Path]:
    import torch

    from hil.onnx_io import quantize_int8
    from hil.models.classifier import ClassifierConfig, ProcessClassifier, export_onnx, load

    wanted = wanted or ["reference", "reference-int8", "quantiles"]
    trained = ROOT / "out" / "classifier" / "quantiles.pt"
    with torch.random.fork_rng(devices=[]):  # the untrained weights from seed 0, the caller's generator untouched
        torch.manual_seed(0)
        models = {"reference": ProcessClassifier(ClassifierConfig("sorted", 100 * 100, 512))}
        models["quantiles"] = (load(trained) if trained.exists()
                               else ProcessClassifier(ClassifierConfig("quantiles", 256, 512)))
        # the plain 256-quantile shape (no region count): what the quantile rows measured before the shipped
        # model learnt regions; untrained, as the reference — the cost depends on the shape
        models["quantiles-plain"] = ProcessClassifier(ClassifierConfig("quantiles", 256, 512))
    need = {"reference-int8": "reference"}
    paths = {name: export_onnx(model, tmp / f"{name}.onnx", version="benchmark",
                               trained=trained.exists() and name == "quantiles")
             for name, model in models.items() if name in wanted or name in {need.get(w) for w in wanted}}
    if "reference-int8" in wanted:
        paths["reference-int8"] = quantize_int8(paths["reference"], tmp / "reference-int8.onnx")
    return paths


def busy(priority: str, cores: list[int] | None) -> None:
    """Subprocess: one CPU-bound loop, as other work on the lab PC would be (never returns)."""
    if cores and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, cores)
    if priority == "nice":
        os.nice(19)
    elif priority == "idle":
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    x = 0
    while True:
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF


class Background:
    """``n`` busy processes for the duration of a ``with`` block, kept off ``avoid`` (a core) when given."""

    def __init__(self, n: int, priority: str = "normal", avoid: int | None = None):
        self.n, self.priority = n, priority
        cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
        self.cores = [c for c in cores if c != avoid] if avoid is not None and len(cores) > 1 else None
        self.procs: list = []

    def __enter__(self) -> "Background":
        ctx = mp.get_context("spawn")
        self.procs = [ctx.Process(target=busy, args=(self.priority, self.cores), daemon=True) for _ in range(self.n)]
        for p in self.procs:
            p.start()
        time.sleep(0.5 if self.n else 0.0)  # let them reach full speed
        return self

    def __exit__(self, *exc) -> None:
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            p.join(10)


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
            port: int, spin_ms: float = 0.0, threads: int = 1, cpu: int | None = None,
            spin_backoff_ms: float = 1000.0) -> dict:
    fin = f"tcp://127.0.0.1:{port}"
    outs = [f"tcp://127.0.0.1:{port + 1 + i}" for i in range(labellers)]
    pin = ["--cpu", str(cpu)] if cpu is not None else []
    procs = [subprocess.Popen([sys.executable, "-m", "hil.app.cli", "stream", "label", "--model", str(model),
                               "--in", fin, "--out", o, "--index", str(i), "--count", str(labellers),
                               "--threads", str(threads), "--spin-ms", str(spin_ms),
                               "--spin-backoff-ms", str(spin_backoff_ms), *pin],
                              stderr=subprocess.PIPE, text=True)
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
        acct = pub.finish(5.0)  # the labellers' acknowledgements: frames published and never labelled
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
            "max_ms": round(float(lat.max()), 3) if len(lat) else None, "unlabelled": acct.unlabelled,
            "labeller_stats": stats}


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
    ap.add_argument("--background", default="0",
                    help="busy processes running during the latency runs: a comma list, one set of latency rows "
                         "per value (0: idle machine; e.g. 0,2 for idle and loaded)")
    ap.add_argument("--background-priority", choices=["normal", "nice", "idle"], default="normal",
                    help="the busy processes' priority: normal, nice 19, or SCHED_IDLE (default %(default)s)")
    ap.add_argument("--spin-backoff-ms", type=float, default=1000.0,
                    help="the busy-polling labeller's give-way time when it finds its core taken (0: never; "
                         "default %(default)g, as `hil stream label`)")
    ap.add_argument("--pin", action="store_true",
                    help="latency runs: the labeller on a core of its own (the last one), the busy processes off it")
    ap.add_argument("--name", default="streaming", help="results/NAME.json")
    a = ap.parse_args()
    frames = frames_100()
    rows = []
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(range(os.cpu_count() or 1))
    core = cores[-1] if a.pin and len(cores) > 1 else None
    if a.pin and core is None:
        print("--pin: one core only; the labeller runs unpinned", flush=True)
    backgrounds = [int(x) for x in a.background.split(",") if x]
    with tempfile.TemporaryDirectory() as tmp:
        models = make_models(Path(tmp), a.models.split(","))
        port = a.port
        for name in a.models.split(","):
            path = models[name]
            for load in backgrounds:
                with Background(load, a.background_priority, avoid=core):
                    for spin in [float(x) for x in a.spin_ms.split(",") if x]:
                        r = one_run(path, 1, frames, a.latency_frames, 200.0, port, spin_ms=spin, threads=a.threads,
                                    cpu=core, spin_backoff_ms=a.spin_backoff_ms)
                        port += 10
                        r.update(model=name, test="latency@200fps", spin_ms=spin, threads=a.threads,
                                 spin_backoff_ms=a.spin_backoff_ms if spin else None,
                                 background=load, background_priority=a.background_priority if load else None,
                                 labeller_core=core)
                        print({k: r[k] for k in ("model", "background", "spin_ms", "lost", "unlabelled", "p50_ms",
                                                 "p99_ms", "max_ms")}, flush=True)
                        rows.append(r)
            for labellers in [int(x) for x in a.labellers.split(",") if x]:
                for rate in [float(x) for x in a.rates.split(",") if x] + [None]:
                    r = one_run(path, labellers, frames, a.throughput_frames, rate, port)
                    port += 10
                    r.update(model=name, test="throughput", background=0)
                    print({k: r[k] for k in ("model", "labellers", "rate_requested", "achieved_fps", "lost",
                                             "backpressure_waits", "p50_ms", "p99_ms")}, flush=True)
                    rows.append(r)
    out = {"machine": f"{platform.node()} ({os.cpu_count()} cores, load {os.getloadavg()[0]:.1f})",
           "command": "benchmarks/streaming.py " + " ".join(sys.argv[1:]),
           "frame": "100 x 100 float32", "background": {"processes": backgrounds, "priority": a.background_priority,
                                                          "labeller_core": core, "cores": cores},
           "rows": rows}
    RESULTS.mkdir(parents=True, exist_ok=True)
    from _record import save  # command, machine, date, load, code version (benchmarks/_record.py)
    save(RESULTS / f"{a.name}.json", out, __file__)
    print(f"→ {RESULTS / a.name}.json")


if __name__ == "__main__":
    main()
