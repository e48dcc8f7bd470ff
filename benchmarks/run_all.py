"""Every published figure of benchmarks/RESULTS.md with one command.

    python benchmarks/run_all.py --quick            # small sizes, minutes; results in out/results-quick/
    python benchmarks/run_all.py --full             # published sizes, hours; results in benchmarks/results/
    python benchmarks/run_all.py --quick --only oscillator_osc,llg_throughput
    python benchmarks/run_all.py --list             # the table below, with the --full estimates

(``make results-quick`` and ``make results`` run the first two.) Each figure
is one or more commands; each benchmark writes its JSON (with command,
machine, date, load and code version, ``benchmarks/_record.py`` or the
benchmark's own header) into ``$HIL_RESULTS_DIR``, which this script sets:
``--quick`` writes to ``out/results-quick/`` so the published JSONs are never
overwritten by small runs; ``--full`` writes to ``benchmarks/results/``.
The run's own record, ``run_all_<mode>.json`` in the same folder, holds the
measured duration and exit status of every figure.

``--quick`` runs every figure end to end at tiny sizes, so no benchmark can
rot (the numbers are meaningless at these sizes): the figures that need data
and trained models make them small first — the classifier from 24 × 24
diagrams and 3 epochs, the Spin-NODEs from 200–400-point traces and 20
iterations, the stray-field CNN from 96 ellipses and 1 epoch, the μ_s
calibration at L = 32. Their data and models go to a scratch folder,
``out/results-quick/<figure>/`` (the ``{work}`` of the commands below), wiped
before the figure runs; nothing is written to out/classifier/, out/spin_node/,
out/stray/ or models/shipped/. About 5 minutes on the 2-core VM under load;
figures whose optional package is missing (optuna, Spirit) are skipped and
say so.

``--full`` regenerates the data and the models from their seeds (one thread:
bit for bit on the same torch build and CPU) and then measures; the
estimates are the durations in RESULTS.md (2-core VM, under load). The
stores its commands append to (``fresh``: the diagrams, the device_response
traces) are removed first, so a second run does not train on data twice.
Each benchmark that trains a model records the sha256 of its weights
(``_record.weights_digest``) and keeps small ones in ``<results>/models/``
(tests/test_reproducible_models.py: same seed, same weights, per family).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from _record import provenance, write_result  # noqa: E402

PY = sys.executable
HIL = str(Path(sys.executable).with_name("hil"))
B = "benchmarks"
CTRNN_SEARCHED = ["--lr0", "0.02357", "--lr-decay", "8.445", "--tau", "3.028", "--drive-gain", "5.689*gamma",
                  "--input-gain", "5.431", "--init-scale", "0.464", "--readout", "x"]
SPIN_BENCH = "benches/spin_node.toml"
W = "{work}"  # quick mode: the figure's scratch folder, out/results-quick/<figure>/ (wiped before it runs)
TINY_DIAGRAM = ["--alpha", "0.02:0.6:5", "--t-w", "2ps:40ps:6", "--size", "24", "--dt", "5fs", "--threads", "1",
                "--yes", "--quiet"]  # 30 points, ≈ 25 s; its interior points still hold two classes
ENGINE_FAULTS = "SIGINT x1,SIGINT x2,SIGTERM,SIGHUP,hung instrument,resume, changed bench"

# name: {"quick": [argv, ...] or None, "full": [argv, ...], "estimate_s": full duration, "needs": module, "why": text,
#        "fresh": [paths the full commands append to: removed before the figure runs]}
FIGURES: dict[str, dict] = {
    "oscillator_osc": {
        "quick": [[PY, f"{B}/oscillator_digits.py", "--net", "osc", "--seeds", "2", "--epochs", "2", "--limit", "240",
                   "--f-cut", "0.045", "--name", "osc_seeds"]],
        "full": [[PY, f"{B}/oscillator_digits.py", "--net", "osc", "--seeds", "10", "--epochs", "100", "--f-cut", "0.045",
                  "--name", "osc_seeds"]],
        "estimate_s": 1200},
    "oscillator_osc_fcut100MHz": {
        "quick": [[PY, f"{B}/oscillator_digits.py", "--net", "osc", "--seeds", "2", "--epochs", "2", "--limit", "240",
                   "--f-cut", "0.1", "--name", "osc_seeds_fcut100MHz"]],
        "full": [[PY, f"{B}/oscillator_digits.py", "--net", "osc", "--seeds", "10", "--epochs", "100", "--f-cut", "0.1",
                  "--name", "osc_seeds_fcut100MHz"]],
        "estimate_s": 1200},
    "oscillator_ctrnn_searched": {
        "quick": [[PY, f"{B}/oscillator_digits.py", "--net", "ctrnn", "--seeds", "2", "--epochs", "2", "--limit", "240",
                   *CTRNN_SEARCHED, "--name", "ctrnn_seeds_searched"]],
        "full": [[PY, f"{B}/oscillator_digits.py", "--net", "ctrnn", "--seeds", "10", "--epochs", "100", *CTRNN_SEARCHED,
                  "--name", "ctrnn_seeds_searched"]],
        "estimate_s": 1200},
    "oscillator_ctrnn_textbook": {
        "quick": [[PY, f"{B}/oscillator_digits.py", "--net", "ctrnn", "--seeds", "2", "--epochs", "2", "--limit", "240",
                   "--drive-gain", "gamma", "--name", "ctrnn_seeds"]],
        "full": [[PY, f"{B}/oscillator_digits.py", "--net", "ctrnn", "--seeds", "10", "--epochs", "100",
                  "--drive-gain", "gamma", "--name", "ctrnn_seeds"]],
        "estimate_s": 1200},
    "oscillator_sweep_dt_fcut100MHz": {
        "quick": [[PY, f"{B}/oscillator_digits.py", "--net", "osc", "--seeds", "1", "--epochs", "1", "--limit", "120",
                   "--max-step", "2", "--f-cut", "0.1", "--sweep", "dt", "--values", "0.5,2",
                   "--name", "osc_sweep_dt_fcut100MHz"]],
        "full": [[PY, f"{B}/oscillator_digits.py", "--net", "osc", "--seeds", "3", "--epochs", "30", "--max-step", "2",
                  "--f-cut", "0.1", "--sweep", "dt", "--values", "0.1,0.2,0.5,1,2,5,10", "--name", "osc_sweep_dt_fcut100MHz"]],
        "estimate_s": 720},
    "ctrnn_search": {
        "needs": "optuna", "why": "the settings search needs the [bench] extra (optuna)",
        "quick": [[PY, f"{B}/ctrnn_search.py", "--trials", "2", "--epochs", "1", "--seeds", "1", "--rerank", "1",
                   "--rerank-seeds", "1", "--rerank-epochs", "1"]],
        "full": [[PY, f"{B}/ctrnn_search.py", "--trials", "400", "--timeout", "1380", "--epochs", "30", "--seeds", "2",
                  "--rerank", "5", "--rerank-seeds", "4", "--rerank-epochs", "100"]],
        "estimate_s": 3600},
    "llg_convergence": {
        "quick": [[PY, f"{B}/llg_convergence.py", "--L", "16", "--window-ps", "0.2", "--ref-fs", "1", "--dts-fs", "2", "5",
                   "--beyond-fs", "20"]],
        "full": [[PY, f"{B}/llg_convergence.py"]],
        "estimate_s": 1800},
    "llg_calibration": {  # quick: L = 32 (≈ 10 s); its labels mean nothing (μ_s is calibrated at L = 100)
        "quick": [[PY, f"{B}/llg_calibration.py", "--L", "32"]],
        "full": [[PY, f"{B}/llg_calibration.py"]],
        "estimate_s": 1800},
    "llg_throughput": {
        "quick": [[PY, f"{B}/llg_throughput.py", "--L", "32", "--steps", "40", "--repeats", "1", "--threads", "1",
                   "--batches", "1", "--temperatures", "0", "1.5"]],
        "full": [[PY, f"{B}/llg_throughput.py", "--backends", "numba", "--threads", "1", "2", "--repeats", "2"]],
        "estimate_s": 900},
    "llg_energy_thermal": {
        "quick": [[PY, f"{B}/llg_energy_thermal.py", "--L-thermal", "16"]],
        "full": [[PY, f"{B}/llg_energy_thermal.py"]],
        "estimate_s": 600},
    "llg_spirit": {
        "needs": "spirit", "why": "the cross-check needs Spirit (pip install spirit)",
        "quick": [[PY, f"{B}/llg_spirit.py", "--L", "10", "--steps", "50"]],
        "full": [[PY, f"{B}/llg_spirit.py"]],
        "estimate_s": 300},
    "scpi_roundtrip": {
        "quick": [[PY, f"{B}/scpi_roundtrip.py", "--reps", "20"]],
        "full": [[PY, f"{B}/scpi_roundtrip.py"]],
        "estimate_s": 60},
    "classifier": {  # quick: classifier_data.sh's five diagrams at L = 24 on small grids, then the benchmark
        "quick": [
            [HIL, "sim", "diagram", "--theta", "50", *TINY_DIAGRAM, "--out", f"{W}/train_theta50.h5",
             "--plot", f"{W}/train_theta50.png"],
            [HIL, "sim", "diagram", "--theta", "40", *TINY_DIAGRAM, "--out", f"{W}/eval_theta40.h5"],
            [HIL, "sim", "diagram", "--theta", "40", "--alpha", "0.1,0.5", "--t-w", "4ps,36ps", "--size", "24",
             "--dt", "5fs", "--frames", "5ps", "--temperature", "1.5K", "--threads", "1", "--yes", "--quiet",
             "--out", f"{W}/eval_5ps_T1.5K.h5"],
            [HIL, "sim", "diagram", "--theta", "50", "--alpha", "0.165,0.455", "--t-w", "9.6ps", "--size", "24",
             "--dt", "2fs", "--threads", "1", "--yes", "--quiet", "--out", f"{W}/dt2fs_theta50.h5"],
            [PY, f"{B}/classifier.py", "--train", f"{W}/train_theta50.h5", "--eval", f"{W}/eval_theta40.h5",
             "--unseen", f"{W}/eval_5ps_T1.5K.h5", "--dt-check", f"{W}/dt2fs_theta50.h5", "--epochs", "3",
             "--folds", "2", "--variants", "paper,3cal,4w,r4cal", "--reference", "paper", "--seed-spread", "2",
             "--name", "classifier_quick", "--work", W]],
        "full": [["bash", f"{B}/classifier_data.sh"]],  # data, then benchmarks/classifier.py (trains both models, seed 0)
        "fresh": [f"out/classifier/{n}.h5" for n in ("train_theta50", "eval_theta40", "eval_5ps", "eval_T1.5K",
                                                     "dt2fs_theta50")],
        "estimate_s": 3600},
    "streaming": {
        "quick": [[PY, f"{B}/streaming.py", "--models", "quantiles", "--latency-frames", "200", "--throughput-frames", "400",
                   "--rates", "1000", "--labellers", "1", "--name", "streaming"]],
        "full": [[PY, f"{B}/streaming.py",  # after "classifier", whose run leaves the trained quantiles model "--models", "quantiles,reference-int8,reference",
                  "--rates", "2000,3000,5000,7000,8000,10000", "--latency-frames", "4000"]],
        "estimate_s": 600},
    "spin_node": {  # quick: the same chain on 200/400-point traces, 20 training iterations, every part small
        "quick": [
            [HIL, "run", "device_response", "--bench", SPIN_BENCH, "--param", "records=2", "--param", "points=200",
             "--quiet", "--out", f"{W}/skyrmion.h5"],
            [HIL, "run", "device_response", "--bench", SPIN_BENCH, "--param", "records=1", "--param", "points=200",
             "--param", "seed=1000", "--quiet", "--out", f"{W}/skyrmion_test.h5"],
            [HIL, "run", "device_response", "--bench", SPIN_BENCH, "--param", "drive=current", "--param", "records=2",
             "--param", "points=400", "--quiet", "--out", f"{W}/oscillator.h5"],
            [HIL, "run", "device_response", "--bench", SPIN_BENCH, "--param", "drive=current", "--param", "records=1",
             "--param", "points=400", "--param", "seed=1000", "--quiet", "--out", f"{W}/oscillator_test.h5"],
            [HIL, "train", "spin-node", f"{W}/skyrmion.h5", "--observe", "mz", "--inputs", "field", "--hidden", "50",
             "--lr-final", "1e-4", "--max-iters", "20", "--threshold", "0.01", "--eval-every", "10", "--threads", "1",
             "--quiet", "--out", f"{W}/node_skyrmion.pt"],
            [HIL, "train", "spin-node", f"{W}/oscillator.h5", "--observe", "power_dbm", "--inputs", "current",
             "--hidden", "100", "--lr-final", "1e-4", "--max-iters", "20", "--threshold", "0.025", "--eval-every", "10",
             "--threads", "1", "--quiet", "--out", f"{W}/node_oscillator.pt"],
            [PY, f"{B}/spin_node.py", "prediction", "--case", "skyrmion", "--dir", W],
            [PY, f"{B}/spin_node.py", "prediction", "--case", "oscillator", "--dir", W],
            [PY, f"{B}/spin_node.py", "speed", "--samples", "20", "--repeats", "1", "--dir", W],
            [PY, f"{B}/spin_node.py", "reservoir", "--mg", "12", "--segments", "2", "--max-h", "2", "--dir", W],
            [PY, f"{B}/spin_node.py", "onnx", "--steps", "50", "--dir", W]],
        "fresh": [f"out/spin_node/{n}.h5" for n in ("skyrmion", "skyrmion_test", "oscillator", "oscillator_test")],
        "full": [
            [HIL, "run", "device_response", "--bench", SPIN_BENCH, "--param", "records=10", "--param", "points=1000",
             "--out", "out/spin_node/skyrmion.h5"],
            [HIL, "run", "device_response", "--bench", SPIN_BENCH, "--param", "records=2", "--param", "points=1000",
             "--param", "seed=1000", "--out", "out/spin_node/skyrmion_test.h5"],
            [HIL, "run", "device_response", "--bench", SPIN_BENCH, "--param", "drive=current", "--param", "records=10",
             "--param", "points=5000", "--out", "out/spin_node/oscillator.h5"],
            [HIL, "run", "device_response", "--bench", SPIN_BENCH, "--param", "drive=current", "--param", "records=2",
             "--param", "points=5000", "--param", "seed=1000", "--out", "out/spin_node/oscillator_test.h5"],
            [HIL, "train", "spin-node", "out/spin_node/skyrmion.h5", "--observe", "mz", "--inputs", "field", "--hidden", "50",
             "--lr-final", "1e-4", "--max-iters", "5000", "--threshold", "0.01", "--eval-every", "500",
             "--out", "out/spin_node/node_skyrmion.pt"],
            [HIL, "train", "spin-node", "out/spin_node/oscillator.h5", "--observe", "power_dbm", "--inputs", "current",
             "--hidden", "100", "--lr-final", "1e-4", "--max-iters", "6000", "--threshold", "0.025", "--eval-every", "500",
             "--out", "out/spin_node/node_oscillator.pt"],
            [PY, f"{B}/spin_node.py", "prediction", "--case", "skyrmion"],
            [PY, f"{B}/spin_node.py", "prediction", "--case", "oscillator"],
            [PY, f"{B}/spin_node.py", "speed", "--samples", "100", "--repeats", "50"],
            [PY, f"{B}/spin_node.py", "reservoir"],
            [PY, f"{B}/spin_node.py", "onnx"]],
        "estimate_s": 3600},
    "stray_field": {  # quick: 96 generated ellipses (64 to train), 1 epoch, the skyrmion test at one height
        "quick": [[HIL, "train", "stray-field", "--data", f"{W}/shapes.h5", "--samples", "96", "--train", "64",
                   "--epochs", "1", "--threads", "1", "--quiet", "--out", f"{W}/stray.onnx"],
                  [PY, f"{B}/stray_field.py", "--model", f"{W}/stray.onnx", "--data", f"{W}/shapes.h5",
                   "--heights", "20e-9", "--offsets", "2"]],
        "full": [[HIL, "train", "stray-field", "--data", "out/stray/shapes.h5", "--epochs", "40", "--out", "out/stray/stray40.onnx"],
                 [PY, f"{B}/stray_field.py", "--model", "out/stray/stray40.onnx", "--data", "out/stray/shapes.h5"]],
        "estimate_s": 1800},
    "faults_engine": {  # the two tables of RESULTS.md (signals; SIGKILL + resume), each its own JSON
        "quick": [[PY, f"{B}/faults_engine.py", "--trials", "1"]],
        "full": [[PY, f"{B}/faults_engine.py", "--trials", "20", "--faults", ENGINE_FAULTS],
                 [PY, f"{B}/faults_engine.py", "--trials", "100", "--faults", "SIGKILL", "--seed", "11",
                  "--name", "faults_engine_sigkill"]],
        "estimate_s": 600},
}


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def run_figure(name: str, fig: dict, mode: str, env: dict, log, out: Path | None = None) -> dict:
    cmds = fig[mode]
    if cmds is None:
        return {"status": "skipped", "why": fig.get("why", "")}
    need = fig.get("needs")
    if need and importlib.util.find_spec(need) is None:
        return {"status": "skipped", "why": fig.get("why", f"needs {need}")}
    t0 = time.perf_counter()
    rec: dict = {"status": "ok"}
    if any(W in arg for c in cmds for arg in c):  # a scratch folder of its own, empty at the start
        work = (out or ROOT / "out" / "results-quick") / name
        _remove(work)
        work.mkdir(parents=True)
        where = os.path.relpath(work, ROOT) if work.resolve().is_relative_to(ROOT) else str(work)
        cmds = [[arg.replace(W, where) for arg in c] for c in cmds]
        rec["work"] = where
    if mode == "full":  # stores the commands append to: a second run must not train on data twice
        gone = [f for f in fig.get("fresh", []) if (ROOT / f).exists()]
        for f in gone:
            log(f"[{name}] removing {f} (regenerated from its seed)")
            _remove(ROOT / f)
        if gone:
            rec["removed"] = gone
    rec["commands"] = [" ".join(c) for c in cmds]
    for cmd in cmds:
        log(f"[{name}] {' '.join(cmd)}")
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            rec.update(status="failed", returncode=proc.returncode, failed=" ".join(cmd),
                       stderr_tail=(proc.stderr or proc.stdout)[-2000:])
            break
    rec["seconds"] = round(time.perf_counter() - t0, 1)
    return rec


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_const", dest="mode", const="quick")
    mode.add_argument("--full", action="store_const", dest="mode", const="full")
    mode.add_argument("--list", action="store_const", dest="mode", const="list")
    p.add_argument("--only", default="", help="comma-separated figure names (default: all)")
    p.add_argument("--out", default=None, help="results folder (default: out/results-quick or benchmarks/results)")
    args = p.parse_args(argv)
    mode = args.mode or "quick"
    names = [n for n in args.only.split(",") if n] or list(FIGURES)
    unknown = [n for n in names if n not in FIGURES]
    if unknown:
        p.error(f"unknown figure(s) {unknown}; known: {', '.join(FIGURES)}")
    if mode == "list":
        for n in names:
            f = FIGURES[n]
            q = "quick: " + ("yes" if f["quick"] else f"no ({f.get('why', '')})")
            print(f"{n:32s} full ≈ {f['estimate_s'] / 60:4.0f} min   {q}")
        print(f"full total ≈ {sum(FIGURES[n]['estimate_s'] for n in names) / 3600:.1f} h (2-core VM, estimates)")
        return 0
    out = Path(args.out) if args.out else (ROOT / "out" / "results-quick" if mode == "quick" else ROOT / B / "results")
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, HIL_RESULTS_DIR=str(out.resolve()), OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    header = provenance(argv, __file__)

    def log(msg):
        print(msg, flush=True)

    record = {**header, "mode": mode, "results_dir": str(out), "figures": {}}
    t0 = time.perf_counter()
    for n in names:
        r = run_figure(n, FIGURES[n], mode, env, log, out)
        if mode == "full":
            r["estimate_s"] = FIGURES[n]["estimate_s"]
        record["figures"][n] = r
        log(f"[{n}] {r['status']}" + (f" in {r['seconds']} s" if "seconds" in r else f": {r.get('why', '')}")
            + (f"\n{r.get('stderr_tail', '')}" if r["status"] == "failed" else ""))
        record["seconds"] = round(time.perf_counter() - t0, 1)
        write_result(out / f"run_all_{mode}.json", record)
    failed = [n for n, r in record["figures"].items() if r["status"] == "failed"]
    log(f"{len(names) - len(failed)} of {len(names)} figures ran or were skipped with a reason, "
        f"{record['seconds']:.0f} s; failed: {failed or 'none'} → {out / f'run_all_{mode}.json'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
