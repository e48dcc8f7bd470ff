"""The hil command line: one clear line on error, non-zero exit, no heavy imports for --help."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from hil.app.cli import main

ROOT = Path(__file__).resolve().parent.parent


def test_help_does_not_import_heavy_packages():
    code = ("import sys; from hil.app.cli import main\n"
            "try: main(['--help'])\nexcept SystemExit: pass\n"
            "print(sorted(m for m in ('torch', 'h5py', 'onnxruntime') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip().endswith("[]")


def test_bench_check_prints_roles(oscillator_bench, capsys):
    assert main(["bench", "check", str(oscillator_bench)]) == 0
    out = capsys.readouterr().out
    assert "bias_source" in out and "sim-bias-source" in out and "0.005 A" in out


def test_bad_bench_is_one_clear_error_without_traceback(write_bench, capsys):
    path = write_bench("[limits]\nmax_bias_current = 'x'\n")
    assert main(["bench", "check", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("hil: error: invalid bench") and "Traceback" not in err
    assert f"{path}: limits.max_bias_current: not a number" in err


def test_run_then_list_runs(oscillator_bench, tmp_path, capsys):
    out = tmp_path / "cli.h5"
    rc = main(["run", "bias_sweep", "--bench", str(oscillator_bench), "--param", "currents=1mA,2mA",
               "--param", "points=51", "--out", str(out), "--quiet"])
    assert rc == 0
    assert main(["runs", str(out)]) == 0
    listing = capsys.readouterr().out
    assert "bias_sweep" in listing and "complete" in listing and "2 records" in listing


def test_limit_violation_exits_nonzero_before_a_run_exists(oscillator_bench, tmp_path, capsys):
    out = tmp_path / "bad.h5"
    rc = main(["run", "bias_sweep", "--bench", str(oscillator_bench), "--param", "currents=1mA,8mA",
               "--out", str(out), "--quiet"])
    assert rc == 1
    assert "point 1 of 2 (current=0.008)" in capsys.readouterr().err  # the whole plan is checked first
    assert not out.exists()


def test_bad_param_syntax(oscillator_bench, tmp_path, capsys):
    rc = main(["run", "bias_sweep", "--bench", str(oscillator_bench), "--param", "currents",
               "--out", str(tmp_path / "x.h5")])
    assert rc == 1 and "NAME=VALUE" in capsys.readouterr().err


def test_runs_on_a_missing_file(tmp_path, capsys):
    assert main(["runs", str(tmp_path / "none.h5")]) == 1
    assert "no such file" in capsys.readouterr().err


def test_a_quantity_without_its_unit_is_refused(capsys):
    try:
        main(["sim", "process", "--alpha", "0.36", "--t-w", "28"])
    except SystemExit as exc:
        assert exc.code == 2
    else:
        raise AssertionError("--t-w 28 was accepted")
    assert "28 what? give a unit, e.g. 28ps" in capsys.readouterr().err


def test_a_procedure_parameter_without_its_unit_is_one_clear_error(oscillator_bench, tmp_path, capsys):
    rc = main(["run", "bias_sweep", "--bench", str(oscillator_bench), "--param", "currents=1e-3,2e-3",
               "--out", str(tmp_path / "x.h5"), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 1 and "1e-3 what? give a unit, e.g. 1mA" in err and len(err.strip().splitlines()) == 1
