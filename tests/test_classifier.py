"""The classifier pipeline: preprocessing invariants, training, export, offline and live labels agree.

Training data here are small hand-built S_z stacks with the three processes'
signatures (a skyrmion that breathes, a background that reverses, a skyrmion
that vanishes), stored as a process run, so the tests take seconds; the LLG
twin's own processes train the benchmark models (benchmarks/classifier.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np
import pytest

from hil.app.cli import main
from hil.models.classifier_onnx import StepSession
from hil.models.preprocess import profile
from hil.store import Store
from hil.models.classifier import ClassifierConfig, load
from hil.models.process_data import interior, read_processes
from hil.models.train_classifier import evaluate, predict_probs, stratified_holdout, train_classifier

L, T = 12, 5


def disc(radius: float, inside: float, outside: float, centre=(5.5, 6.0)) -> np.ndarray:
    y, x = np.mgrid[:L, :L]
    r = np.hypot(y - centre[0], x - centre[1])
    return np.where(r < radius, inside, outside).astype(np.float32)


def synthetic_process(label: str, rng: np.random.Generator) -> np.ndarray:
    r0 = rng.uniform(2.0, 3.0)
    c = tuple(rng.uniform(3, 8, 2))
    if label == "breathing":
        frames = [disc(r0 * (1 + 0.3 * np.sin(k)), 1, -1, c) for k in range(T)]
    elif label == "switching":
        frames = [disc(r0, 1, -1, c) if k < 2 else disc(r0, -1, 1, c) for k in range(T)]
    elif label == "collapse":
        frames = [disc(r0 * max(0.0, 1 - 0.4 * k), 1, -1, c) for k in range(T)]
    else:  # mixed: two domains
        frames = [disc(r0, 1, -1, c) + disc(r0, 2, 0, (2, 2)) for k in range(T)]
    return np.clip(np.stack(frames) + rng.normal(0, 0.02, (T, L, L)), -1, 1).astype(np.float32)


@pytest.fixture(scope="module")
def process_file(tmp_path_factory):
    rng = np.random.default_rng(1)
    path = tmp_path_factory.mktemp("proc") / "proc.h5"
    labels = ["breathing", "switching", "collapse"] * 10 + ["mixed"] * 3
    with Store(path) as store:
        run = store.create_run("process_diagram", {"synthetic": True}, run_id="synthetic")
        for i, lab in enumerate(labels):
            run.write_record(i, {"frames": synthetic_process(lab, rng), "label": lab,
                                 "alpha": 0.1 * (i // 6), "t_w": 1e-12 * (i % 6)})
        run.finish("complete")
    return path


@pytest.fixture(scope="module")
def trained(process_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("model")
    assert main(["train", "classifier", str(process_file), "--quantiles", "32", "--hidden", "24",
                 "--epochs", "150", "--lr", "3e-3", "--out", str(out / "m.pt"), "--quiet"]) == 0
    assert main(["export", "classifier", str(out / "m.pt"), str(out / "m.onnx")]) == 0
    return out / "m.pt", out / "m.onnx"


def test_profiles_are_invariant_to_permuting_the_lattice():
    rng = np.random.default_rng(0)
    frame = rng.uniform(-1, 1, (1, 20, 20)).astype(np.float32)
    shuffled = rng.permutation(frame.ravel()).reshape(frame.shape)
    for kind, size in (("sorted", 400), ("quantiles", 64)):
        np.testing.assert_array_equal(profile(frame, kind, size), profile(shuffled, kind, size))


def test_quantiles_of_a_finer_camera_match():
    """The same texture seen at 2× the pixels gives (nearly) the same quantile profile."""
    coarse = disc(3.0, 1, -1)[None]
    fine = np.kron(coarse, np.ones((1, 2, 2), np.float32))
    np.testing.assert_allclose(profile(coarse, "quantiles", 32), profile(fine, "quantiles", 32), atol=1e-6)


def test_holdout_is_stratified():
    labels = ["a"] * 20 + ["b"] * 10 + ["c"] * 3
    held = stratified_holdout(labels, 0.1, np.random.default_rng(0))
    assert [sum(h for h, lab in zip(held, labels) if lab == c) for c in "abc"] == [2, 1, 1]


def test_interior_drops_points_on_a_region_boundary():
    from hil.models.process_data import Processes

    alpha = np.repeat([0.1, 0.2, 0.3], 3)
    t_w = np.tile([1.0, 2.0, 3.0], 3)
    labels = ["breathing"] * 6 + ["breathing", "breathing", "collapse"]
    data = Processes(np.zeros((9, 1, 2, 2), np.float32), labels, alpha, t_w, [str(i) for i in range(9)])
    keep = interior(data)
    # (0.3, 3.0) is collapse next to breathing; its neighbours (0.3, 2.0) and (0.2, 3.0) are boundary too
    assert keep.tolist() == [True, True, True, True, True, False, True, False, False]


def test_training_learns_the_three_processes(trained, process_file):
    model = load(trained[0])
    data = read_processes(process_file)
    result = evaluate(predict_probs(model, data.frames)[:, -1], data.labels, model.config.labels,
                      model.config.threshold)
    for label in ("breathing", "switching", "collapse"):
        assert result["per_class"][label]["accuracy"] >= 0.9, result["per_class"]
    assert model.config.run_ids == ["synthetic"]


def test_onnx_matches_torch_on_whole_sequences(trained, process_file):
    data = read_processes(process_file)
    torch_probs = predict_probs(load(trained[0]), data.frames)
    onnx_probs = StepSession(trained[1]).run_batch(data.frames)
    np.testing.assert_allclose(onnx_probs, torch_probs, atol=1e-5)


def test_exported_metadata_drives_the_preprocessing(trained):
    s = StepSession(trained[1])
    assert (s.kind, s.input_size, s.labels, s.threshold) == ("quantiles", 32, ["breathing", "switching", "collapse"], 0.8)
    assert s.meta["run_ids"] == ["synthetic"] and s.meta["version"].startswith("spin-hil")


def test_classify_cli_labels_stored_processes(trained, process_file, capsys):
    assert main(["classify", str(process_file), "--model", str(trained[1]), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["processes"]) == 33
    assert out["accuracy"] >= 0.85
    assert out["columns"][-1] == "mixed/unknown"


def test_training_refuses_data_without_the_classes(tmp_path, capsys):
    path = tmp_path / "mixed.h5"
    with Store(path) as store:
        run = store.create_run("process_diagram", {})
        for i in range(3):
            run.write_record(i, {"frames": np.zeros((2, 4, 4), np.float32), "label": "mixed"})
        run.finish("complete")
    assert main(["train", "classifier", str(path), "--out", str(tmp_path / "m.pt"), "--quiet"]) == 1
    assert "only 0 processes" in capsys.readouterr().err


def test_sorted_model_refuses_a_frame_of_another_size(process_file, tmp_path):
    data = read_processes(process_file)
    cfg = ClassifierConfig(preprocessing="sorted", input_size=L * L, hidden=8)
    result = train_classifier(data, cfg, epochs=2, progress=False)
    from hil.models.classifier_onnx import export_step_model
    from hil.errors import HilError

    export_step_model(result.model, tmp_path / "s.onnx", L * L, 8,
                      {"labels": list(cfg.labels), "threshold": 0.8, "preprocessing": "sorted", "version": "t"})
    with pytest.raises(HilError, match="expects 144 spins"):
        StepSession(tmp_path / "s.onnx").run_sequence(np.zeros((2, 10, 10), np.float32))


def _wait_for_line(proc: subprocess.Popen, prefix: str, lines: int = 50) -> None:
    """Read a child's stderr until the line that says it is ready (warnings may come first)."""
    for _ in range(lines):
        line = proc.stderr.readline()
        if line.startswith(prefix) or not line:
            break
    assert line.startswith(prefix), f"child never said {prefix!r} (exit {proc.poll()})"


def test_stream_cli_end_to_end_matches_offline(trained, process_file, tmp_path):
    """`hil stream replay` → two `hil stream label` → `hil stream watch --store`: every process once, offline labels."""
    hil = [sys.executable, "-m", "hil.app.cli"]
    labels_h5 = tmp_path / "labels.h5"
    port = 56500 + (int(time.time()) % 200) * 2
    fin, outs = f"tcp://127.0.0.1:{port}", [f"tcp://127.0.0.1:{port + 10}", f"tcp://127.0.0.1:{port + 11}"]
    labellers = [subprocess.Popen(hil + ["stream", "label", "--model", str(trained[1]), "--in", fin, "--out", o,
                                         "--index", str(i), "--count", "2"], stderr=subprocess.PIPE, text=True)
                 for i, o in enumerate(outs)]
    watcher = None
    try:
        for p in labellers:  # each says its line once its output socket is bound
            _wait_for_line(p, "labeller ")
        watcher = subprocess.Popen(hil + ["stream", "watch", *outs, "--finals-only", "--count", "33",
                                          "--store", str(labels_h5)], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        _wait_for_line(watcher, "watching ")
        time.sleep(0.5)  # subscriptions reach the labellers' PUB sockets (a PUB drops what no one asked for yet)
        replay = subprocess.run(hil + ["stream", "replay", str(process_file), "--endpoint", fin, "--wait", "20"],
                                capture_output=True, text=True, timeout=60)
        assert replay.returncode == 0, replay.stderr
        out, err = watcher.communicate(timeout=60)
    finally:
        for p in labellers + ([watcher] if watcher else []):
            p.terminate()
        for p in labellers:
            p.wait(10)
    assert out.count("FINAL") == 33 and f"{33 * T} labels, 33 final labels, 0 labels missing" in err
    # the probability columns are named once, and mixed/unknown explained once
    labels = " ".join(StepSession(trained[1]).labels)
    assert out.count("columns: process") == 1 and f"[p({labels})]" in out and "'mixed/unknown' = no class" in out
    data, session = read_processes(process_file), StepSession(trained[1])
    decided = evaluate(session.run_batch(data.frames)[:, -1], data.labels, tuple(session.labels),
                       session.threshold)["decided"]
    offline = dict(zip(data.ids, decided))
    with Store(labels_h5, "r") as store:
        [run_id] = store.run_ids()
        live = {r["process"]: r["label"] for r in store.run(run_id).records()}
        assert all(r["gaps"] == 0 and r["frames"] == T for r in store.run(run_id).records())
    assert live == offline


def test_int8_export_labels_like_the_float32_one(trained, process_file, tmp_path):
    """`hil export classifier --int8`: 4× lighter weights, the same decisions, probabilities within a few 1e-2."""
    q8 = tmp_path / "m8.onnx"
    assert main(["export", "classifier", str(trained[0]), str(q8), "--int8"]) == 0
    fp, i8 = StepSession(trained[1]), StepSession(q8)
    assert fp.meta["weights"] == "float32" and i8.meta["weights"] == "int8"
    assert i8.meta["input_size"] == fp.meta["input_size"] and i8.labels == fp.labels
    data = read_processes(process_file)
    p_fp, p_i8 = fp.run_batch(data.frames)[:, -1], i8.run_batch(data.frames)[:, -1]
    assert not np.array_equal(p_fp, p_i8)  # really quantised
    assert np.abs(p_fp - p_i8).max() < 0.02
    assert [fp.decide(p) for p in p_fp] == [i8.decide(p) for p in p_i8]


def test_classify_takes_frames_from_numpy_files(trained, process_file, tmp_path, capsys):
    """`hil classify FRAMES.npy|.npz`: (processes, frames, H, W) or (frames, H, W); a table or one object per process."""
    data = read_processes(process_file)
    np.save(tmp_path / "stack.npy", data.frames[:4])
    np.savez(tmp_path / "two.npz", a=data.frames[0], b=data.frames[1:3].astype(np.float64))
    assert main(["classify", str(tmp_path / "stack.npy"), "--model", str(trained[1]), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    offline = evaluate(StepSession(trained[1]).run_batch(data.frames[:4])[:, -1], data.labels[:4],
                       ("breathing", "switching", "collapse"), 0.8)["decided"]
    assert [r["label"] for r in out["processes"]] == offline
    assert [r["process"] for r in out["processes"]] == [f"stack[{i}]" for i in range(4)]
    assert all(len(r["frame_labels"]) == T and len(r["frame_probs"]) == T and len(r["probs"]) == 3
               for r in out["processes"])
    assert main(["classify", str(tmp_path / "two.npz"), "--model", str(trained[1])]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [ln.split()[0] for ln in lines[1:4]] == ["a", "b[0]", "b[1]"] and "3 processes" in lines[-1]


@pytest.mark.parametrize("array, why", [
    (np.full((2, 3, 4, 4), np.nan, np.float32), "NaN/inf values"),
    (np.zeros((3, 16), np.float32), "rank 2"),
    (np.zeros((1, 2, 3, 4, 4), np.float32), "rank 5"),
    (np.zeros((2, 3, 1, 1), np.float32), "need H·W ≥ 2"),
    (np.zeros((2, 3, 4, 4), np.int16), "dtype int16 is not a float"),
    (np.zeros((2, 3, 4, 4), np.complex64), "dtype complex64 is not a float"),
    (np.full((2, 3, 4, 4), 7.0, np.float32), "values span"),
    (np.zeros((0, 3, 4, 4), np.float32), "is empty"),
    (np.array([{"x": 1}], dtype=object), "not a NumPy array file|not a float"),
])
def test_classify_refuses_a_bad_array_in_one_line(trained, tmp_path, capsys, array, why):
    path = tmp_path / "bad.npy"
    np.save(path, array, allow_pickle=True)
    assert main(["classify", str(path), "--model", str(trained[1])]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(path) in err
    assert __import__("re").search(why, err), err


def test_classify_refuses_a_file_that_is_not_numpy(trained, tmp_path, capsys):
    path = tmp_path / "junk.npz"
    path.write_bytes(b"not a zip")
    assert main(["classify", str(path), "--model", str(trained[1])]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not a NumPy array file" in err


def test_a_fourth_class_learns_mixed(tmp_path):
    """`--mixed`: "mixed" is a class of its own; a mixed answer agrees with a physics-mixed process."""
    rng = np.random.default_rng(2)
    process_file = tmp_path / "p4.h5"
    with Store(process_file) as store:
        run = store.create_run("process_diagram", {"synthetic": True}, run_id="synthetic4")
        for i, lab in enumerate(["breathing", "switching", "collapse", "mixed"] * 8):
            run.write_record(i, {"frames": synthetic_process(lab, rng), "label": lab, "alpha": 0.1 * (i // 8),
                                 "t_w": 1e-12 * (i % 8)})
        run.finish("complete")
    out = tmp_path / "m4.pt"
    assert main(["train", "classifier", str(process_file), "--quantiles", "32", "--hidden", "24", "--epochs", "150",
                 "--lr", "3e-3", "--mixed", "--out", str(out), "--quiet"]) == 0
    model = load(out)
    assert model.config.labels == ("breathing", "switching", "collapse", "mixed")
    data = read_processes(process_file)
    result = evaluate(predict_probs(model, data.frames)[:, -1], data.labels, model.config.labels, 0.8)
    assert result["columns"] == ["breathing", "switching", "collapse", "mixed", "mixed/unknown"]
    assert result["per_class"]["mixed"]["accuracy"] >= 0.75 and result["clear_accuracy"] >= 0.75


def test_evaluate_counts_mixed_and_unknown_answers_as_flagging_a_mixed_process():
    labels = ("breathing", "switching", "collapse", "mixed")
    probs = np.array([[0.9, 0.05, 0.03, 0.02], [0.1, 0.1, 0.1, 0.7], [0.4, 0.3, 0.2, 0.1], [0.85, 0.05, 0.05, 0.05]])
    ev = evaluate(probs, ["breathing", "mixed", "mixed", "mixed"], labels, 0.6)
    assert ev["decided"] == ["breathing", "mixed", "mixed/unknown", "breathing"]
    assert ev["per_class"]["mixed"]["right"] == 2 and ev["clear_accuracy"] == 1.0 and ev["mixed_flagged"] == 2 / 3


def test_calibrated_threshold_flags_mixed_while_keeping_clear_ones():
    from hil.models.train_classifier import calibrate_threshold

    probs = np.array([[0.99, 0.005, 0.005]] * 30 + [[0.85, 0.1, 0.05]] * 10)
    physics = ["breathing"] * 30 + ["mixed"] * 10
    tau, ev = calibrate_threshold(probs, physics, ("breathing", "switching", "collapse"), min_clear=0.97)
    assert 0.85 < tau <= 0.99 and ev["mixed_flagged"] == 1.0 and ev["clear_accuracy"] == 1.0
