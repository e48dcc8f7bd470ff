"""benchmarks/run_all.py (issue 19): every figure has a quick form that writes only to its own scratch folder
and the quick results folder; a figure starts from an empty scratch folder, and a full run from fresh stores."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import run_all  # noqa: E402

PUBLISHED = ("out/classifier", "out/spin_node", "out/stray", "benchmarks/results", "models/shipped")


def test_every_figure_runs_small_in_quick_mode_and_never_writes_where_published_figures_live():
    for name, fig in run_all.FIGURES.items():
        assert fig["quick"], f"{name} has no quick form"
        args = [a for cmd in fig["quick"] for a in cmd]
        assert "--ship" not in args, name
        for a in args:
            assert not any(p in a for p in PUBLISHED), f"{name}: quick argument {a!r} points at published files"


def _check_empty_then_write():
    """A figure command: fails unless its scratch folder is empty, then leaves a file there."""
    code = ("import pathlib, sys; p = pathlib.Path(sys.argv[1]); "
            "assert p.is_dir() and not any(p.iterdir()), sorted(p.iterdir()); (p / 'left.txt').write_text('x')")
    return [sys.executable, "-c", code, run_all.W]


def test_a_quick_figure_gets_an_empty_scratch_folder_each_run(tmp_path, monkeypatch):
    monkeypatch.setattr(run_all, "FIGURES", {"demo": {"quick": [_check_empty_then_write()], "full": [],
                                                      "estimate_s": 1}})
    out = tmp_path / "quick"
    for _ in range(2):  # the second run fails unless the first run's file is gone
        assert run_all.main(["--quick", "--only", "demo", "--out", str(out)]) == 0
    rec = json.loads((out / "run_all_quick.json").read_text())["figures"]["demo"]
    assert rec["status"] == "ok" and Path(rec["work"]).name == "demo"
    assert (out / "demo" / "left.txt").exists()
    assert run_all.W not in rec["commands"][0] and "demo" in rec["commands"][0]


def test_a_full_figure_starts_from_fresh_stores(tmp_path, monkeypatch):
    store = tmp_path / "data.h5"
    (store / "runs").mkdir(parents=True)  # a store is a folder
    code = f"import pathlib; assert not pathlib.Path({str(store)!r}).exists()"
    monkeypatch.setattr(run_all, "FIGURES", {"demo": {"quick": None, "full": [[sys.executable, "-c", code]],
                                                      "fresh": [str(store)], "estimate_s": 1}})
    out = tmp_path / "full"
    assert run_all.main(["--full", "--only", "demo", "--out", str(out)]) == 0
    rec = json.loads((out / "run_all_full.json").read_text())["figures"]["demo"]
    assert rec["status"] == "ok" and rec["removed"] == [str(store)]


def test_a_failing_command_fails_the_figure_and_the_run(tmp_path, monkeypatch):
    monkeypatch.setattr(run_all, "FIGURES", {"demo": {"quick": [[sys.executable, "-c", "raise SystemExit(3)"]],
                                                      "full": [], "estimate_s": 1}})
    assert run_all.main(["--quick", "--only", "demo", "--out", str(tmp_path)]) == 1
    rec = json.loads((tmp_path / "run_all_quick.json").read_text())["figures"]["demo"]
    assert rec["status"] == "failed" and rec["returncode"] == 3


@pytest.mark.parametrize("text, faults, unknown", [
    ("SIGKILL", ["SIGKILL"], []),
    ("SIGTERM,resume, changed bench", ["SIGTERM", "resume, changed bench"], []),
    ("resume", [], ["resume"]),
])
def test_the_fault_list_of_faults_engine_takes_a_name_with_a_comma_whole(text, faults, unknown):
    import faults_engine

    assert faults_engine.parse_faults(text) == (faults, unknown)
    assert faults_engine.parse_faults(",".join(faults_engine.FAULTS)) == (faults_engine.FAULTS, [])
