"""The demo's live stage: label fresh processes of the bench's sample live, with the shipped classifier.

1. the classifier: the shipped L = 100 model (``hil.models.shipped``) when the
   bench's lattice is the size it was trained at (the diagram depends on L);
   otherwise — or with ``train=True`` — a small quantile classifier is trained
   on a process diagram of the bench's own lattice (reused from ``out`` when
   it is already there) and exported to ONNX; ``model`` names any other;
2. fresh processes are fired through the bench's pulse generator, each
   frame published over ZMQ (loopback) as the camera takes it, labelled by
   a :class:`hil.stream.Labeller` and watched; after the last frame the twin
   is run on until its physics label settles, and both are printed.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from hil.sim.llg.defaults import FRAMES_15PS, SETTLE, T_P
from hil.sim.llg.units import PS

TRAIN_ALPHAS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6)
TRAIN_WIDTHS = tuple(w * PS for w in (2, 5, 8, 12, 16, 21, 26, 32, 40))
#: At L = 32, θ = 40°, α = 0.36 these breathe, switch and collapse (benchmarks/RESULTS.md).
LIVE_WIDTHS = tuple(w * PS for w in (2, 12, 30))
#: The calibrated trio at L = 100, θ = 40°, α = 0.36: breathing, switching, collapse.
LIVE_WIDTHS_L100 = tuple(w * PS for w in (8, 28, 40))


def training_set(out: Path, size: int, theta_deg: float) -> str:
    """Run (or reuse) the training diagram in ``out``; return its run id."""
    from hil.store import Store
    from hil.sim.llg.diagram import DiagramSpec, sweep

    # dt 5 fs, coarser than the twin's default: accurate enough at this lattice size, and the demo is short
    spec = DiagramSpec(theta_deg=theta_deg, alphas=TRAIN_ALPHAS, widths=TRAIN_WIDTHS, size=size, dt=5e-15,
                       batch=len(TRAIN_WIDTHS), threads=0)
    if out.exists():
        with Store(out, "r") as store:
            for info in store.runs():
                run = store.run(info.run_id)
                if info.status == "complete" and spec.made(run):
                    print(f"  training set: reusing run {info.run_id} in {out}")
                    return info.run_id
    print(f"  training set: {len(spec.points())} processes at L = {size}, θ = {theta_deg:g}° "
          f"(α {', '.join(map(str, TRAIN_ALPHAS))}; t_w {', '.join(f'{w / PS:g}' for w in TRAIN_WIDTHS)} ps)")
    return sweep(spec, out)


def choose_model(out_dir: Path, size: int, theta_deg: float, model: str | Path | None = None,
                 train: bool = False) -> tuple[Path, tuple[float, ...]]:
    """The ONNX model the live stage uses and the pulse widths it fires (see the module's docstring)."""
    from hil.models.classifier_onnx import StepSession, shipped_model

    if model is not None:
        return Path(model), LIVE_WIDTHS_L100 if size == 100 else LIVE_WIDTHS
    if not train:
        shipped = shipped_model()
        if shipped.exists():
            trained_at = (StepSession(shipped, threads=1).meta.get("data") or {}).get("train", {}).get("size")
            if trained_at == size:
                print(f"  classifier: the shipped model ({shipped.name}, trained at L = {size})")
                return shipped, LIVE_WIDTHS_L100 if size == 100 else LIVE_WIDTHS
            print(f"  the shipped model was trained at L = {trained_at}; this bench's lattice is L = {size}: "
                  "training one for it")
    return train_small(out_dir, size, theta_deg), LIVE_WIDTHS_L100 if size == 100 else LIVE_WIDTHS


def train_small(out_dir: Path, size: int, theta_deg: float) -> Path:
    """Train a small quantile classifier on a diagram of the bench's lattice; return its ONNX file."""
    import warnings

    from hil.models.classifier import ClassifierConfig, export_onnx
    from hil.models.process_data import read_processes
    from hil.models.train_classifier import train_classifier

    train_file = out_dir / "demo_train.h5"
    run_id = training_set(train_file, size, theta_deg)
    data = read_processes(train_file, run_id)
    print(f"  physics labels of the training set: {data.counts()}")
    cfg = ClassifierConfig(preprocessing="quantiles", input_size=64, hidden=128)
    result = train_classifier(data, cfg, epochs=400, lr=1e-3, progress=False)
    import logging

    quiet = logging.getLogger("torch.onnx")  # "torchvision is not installed": the exporter's note, not the user's
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():  # the exporter's own deprecations and dim-name notes, likewise
            warnings.simplefilter("ignore")
            onnx_path = export_onnx(result.model, out_dir / "demo_classifier.onnx")
    finally:
        quiet.setLevel(level)
    print(f"  classifier: {cfg.input_size} quantiles → {cfg.hidden} sigmoid units, trained on "
          f"{sum(result.trained_on.values())} processes → {onnx_path}")
    return onnx_path


def live_stage(bench: Any, out_dir: Path, size: int, theta_deg: float, model: str | Path | None = None,
               train: bool = False) -> list[dict]:
    """Label fresh processes of ``bench`` live with the shipped (or ``model``, or a trained) classifier."""
    import numpy as np
    import zmq

    from hil.models.classifier_onnx import StepSession
    from hil.protocols.pulse_frames import fire_pulse
    from hil.stream import FramePublisher, Labeller, publish_process, watch

    onnx_path, widths = choose_model(out_dir, size, theta_deg, model, train)

    ctx = zmq.Context()
    pub = FramePublisher("tcp://127.0.0.1:0", context=ctx)
    labeller = Labeller(StepSession(onnx_path, threads=1), pub.endpoint, "tcp://127.0.0.1:0", context=ctx)
    stop = threading.Event()
    live: dict[str, list[str]] = {}
    finals: dict[str, dict] = {}

    def on_label(h: dict) -> None:
        if h["kind"] == "label":
            live.setdefault(h["process"], []).append(h["label"])
        else:
            finals[h["process"]] = h

    threads = [threading.Thread(target=labeller.run, kwargs={"until": stop.is_set, "poll_ms": 20}),
               threading.Thread(target=watch, args=(labeller.out_endpoint, on_label),
                                kwargs={"until": stop.is_set, "context": ctx})]
    for t in threads:
        t.start()
    rows = []
    try:
        pub.wait_for_subscribers(10)
        time.sleep(0.3)  # the watcher's subscription reaches the labeller
        sample = bench.sample("skyrmion")
        bench.pulse_generator.output_on()
        for k, width in enumerate(widths):
            name = f"live-{k}"
            publish_process(pub, name, fire_pulse(bench, 5.0, width, T_P, FRAMES_15PS))
            sample.advance_to(max(FRAMES_15PS[-1], T_P + 5 * width + SETTLE))  # settle for the physics label
            deadline = time.monotonic() + 10
            while name not in finals and time.monotonic() < deadline:
                time.sleep(0.01)
            rows.append({"process": name, "t_w": width, "live": live.get(name, []),
                         "final": finals.get(name, {}).get("label", "—"), "physics": sample.label(),
                         "probs": finals.get(name, {}).get("probs", [np.nan] * len(labeller.session.labels))})
    finally:
        stop.set()
        for t in threads:
            t.join(5)
        pub.close()
        labeller.close()
        ctx.term()
    return rows


def print_live(rows: list[dict]) -> None:
    from hil.labels import LETTERS

    print(f"  {'process':<8} {'t_w (ps)':>8}  {'live label per frame (B/S/C/M/?)':<32} {'final':<14} physics")
    for r in rows:
        seq = " ".join(LETTERS.get(x, x) for x in r["live"])
        print(f"  {r['process']:<8} {r['t_w'] / PS:8.0f}  {seq:<32} {r['final']:<14} {r['physics']}")
