"""Published figures: tagged numbers match their JSON, results carry provenance, run_all runs (issue 19)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _bench(name):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", ROOT / "benchmarks" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_every_tagged_number_in_results_and_readme_matches_its_json():
    count, problems = _bench("check_numbers").check()
    assert not problems, "\n".join(problems)
    assert count >= 10  # the oscillator figures, Spin-NODE, stray field, ... are tagged


def test_the_check_catches_a_stale_number_and_a_missing_key(tmp_path):
    check = _bench("check_numbers")
    (tmp_path / "benchmarks" / "results").mkdir(parents=True)
    (tmp_path / "benchmarks" / "results" / "x.json").write_text(json.dumps({"a": {"b": [0.0, 90.3226]}, "f": 0.011378}))
    doc = tmp_path / "RESULTS.md"
    doc.write_text("ok **90.32 %** <!-- results/x.json:a.b.1 --> and 1.14 % <!-- results/x.json:f*100 -->\n"
                   "stale 90.4 % <!-- results/x.json:a.b.1 -->\n"
                   "gone 3 <!-- results/x.json:a.c -->\n"
                   "sci 1.1e-2 <!-- results/x.json:f --> and 1.2e-2 <!-- results/x.json:f -->\n")
    count, problems = check.check([doc], tmp_path)
    assert count == 6
    assert len(problems) == 3, problems
    assert "quotes 90.4" in problems[0] and "no number at 'a.c'" in problems[1] and "quotes 1.2e-2" in problems[2]


def test_a_benchmark_record_carries_command_machine_date_load_and_code(tmp_path):
    rec = _bench("_record")
    head = rec.provenance(["--x", "1"], str(ROOT / "benchmarks" / "oscillator_digits.py"), threads=1)
    path = rec.write_result(tmp_path / "r.json", {**head, "value": 1.0})
    back = json.loads(path.read_text())
    assert back["command"] == "python benchmarks/oscillator_digits.py --x 1"
    assert {"host", "cpus", "python", "threads"} <= set(back["machine"])
    assert back["date"] and len(back["load"]["before"]) == 3 and len(back["load"]["after"]) == 3
    assert "commit" in back["code"] or "version" in back["code"]


def test_run_all_quick_runs_one_figure_into_its_own_folder(tmp_path):
    """The machinery of `make results-quick` on its smallest figure (the whole quick run is too long for CI)."""
    out = tmp_path / "quick"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run_all.py"), "--quick", "--only", "oscillator_osc",
                           "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads((out / "run_all_quick.json").read_text())
    assert summary["figures"]["oscillator_osc"]["status"] == "ok"
    figure = json.loads((out / "oscillator_osc_seeds.json").read_text())
    assert figure["results"][0]["seeds"] == [0, 1] and "code" in figure and "load" in figure
    listing = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run_all.py"), "--list"], cwd=ROOT,
                             capture_output=True, text=True, timeout=60)
    assert listing.returncode == 0 and "stray_field" in listing.stdout
