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


# -- issue 18: resume by run id, status words, one run syntax, quiet output --------------------------

def test_resume_needs_only_the_run_id(oscillator_bench, tmp_path, capsys):
    out = tmp_path / "r.h5"
    assert main(["run", "bias_sweep", "--bench", str(oscillator_bench), "--param", "currents=1mA,2mA,3mA",
                 "--param", "points=51", "--out", str(out), "--quiet"]) == 0
    run_id = capsys.readouterr().out.split()[1].rstrip(":")
    from hil.store import Store

    with Store(out) as store:
        store.run(run_id).finish("interrupted", "interrupted by SIGINT")
    assert main(["runs", str(out)]) == 0
    assert "interrupted (SIGINT)" in capsys.readouterr().out
    # a differing --param or --bench is refused, naming it
    assert main(["run", "--resume", run_id, "--out", str(out), "--param", "points=101", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "param points: stored 51, now 101" in err
    other = tmp_path / "other.toml"
    other.write_text(Path(oscillator_bench).read_text().replace("0.005", "0.004"))
    assert main(["run", "--resume", run_id, "--out", str(out), "--bench", str(other), "--quiet"]) == 1
    assert "bench file text differs" in capsys.readouterr().err
    assert main(["run", "--resume", "no-such-run", "--out", str(out), "--quiet"]) == 1
    assert "no such run" in capsys.readouterr().err
    # the run id alone: procedure, params and bench come from the stored run
    assert main(["run", "--resume", run_id, "--out", str(out), "--quiet"]) == 0
    assert f"run {run_id}: complete, 3 records" in capsys.readouterr().out


def test_run_without_procedure_or_bench_says_what_to_give(tmp_path, capsys):
    assert main(["run", "--out", str(tmp_path / "x.h5")]) == 1
    assert "--resume RUN_ID --out FILE" in capsys.readouterr().err


def test_deprecated_file_run_syntax_still_works_with_a_note(capsys):
    from hil.app.runpick import pick

    assert pick("out/a.h5", "ID", "x") == ("out/a.h5", "ID")
    assert pick("out/a.h5::ID", None, "train classifier") == ("out/a.h5", "ID")
    err = capsys.readouterr().err
    assert "deprecated" in err and "out/a.h5 --run ID" in err


def test_quiet_hides_listed_third_party_warnings_only():
    code = ("import warnings, logging, sys\n"
            "from hil.app import quiet\n"
            "quiet.install(verbose='-v' in sys.argv)\n"
            "logging.basicConfig()\n"
            "logging.getLogger('torch.onnx._internal.exporter._registration').warning("
            "'torchvision is not installed. Skipping torchvision::nms')\n"
            "logging.warning('Please consider to run pre-processing before quantization. Refer to example')\n"
            "warnings.warn_explicit('`isinstance(treespec, LeafSpec)` is deprecated', FutureWarning, 'copyreg.py', 1,"
            " module='copyreg')\n"
            "warnings.warn('our own warning', UserWarning)\n")
    quiet = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert "torchvision" not in quiet.stderr and "pre-processing" not in quiet.stderr
    assert "LeafSpec" not in quiet.stderr and "our own warning" in quiet.stderr
    loud = subprocess.run([sys.executable, "-c", code, "-v"], capture_output=True, text=True, cwd=ROOT)
    assert "torchvision" in loud.stderr and "pre-processing" in loud.stderr and "LeafSpec" in loud.stderr


def test_demo_png_explains_itself(tmp_path):
    """Title, axis labels with units, an S_z colour bar and the physics label on each process panel."""
    import numpy as np

    from hil.app.demo import draw_summary

    class R(dict):
        pass

    recs = [R(current=1.5e-3 * (k + 1), width=8e-12 * (k + 1), frequency=np.linspace(4e9, 5e9, 11),
              power_dbm=np.zeros(11), zero_span_time=np.linspace(0, 1e-6, 5), zero_span_dbm=np.zeros(5),
              frames=np.zeros((2, 8, 8)), times=np.array([0.0, 1.05e-10])) for k in range(2)]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    seen = {}
    orig = plt.Figure.savefig

    def grab(fig, *a, **k):
        seen["fig"] = fig
        return orig(fig, *a, **k)

    plt.Figure.savefig = grab
    try:
        draw_summary(recs, tmp_path / "d.png", ["breathing", "collapse"], title="T")
    finally:
        plt.Figure.savefig = orig
    fig = seen["fig"]
    texts = [t.get_text() for ax in fig.axes for t in ax.texts] + [fig._suptitle.get_text()]
    assert "physics label: breathing" in texts and "physics label: collapse" in texts and "T" in texts
    labels = [ax.get_ylabel() for ax in fig.axes]
    assert any(lab.startswith("S_z") for lab in labels)  # the colour bar
    for ax in fig.axes[:-1]:
        assert ax.get_xlabel() and ax.get_ylabel() and "(" in ax.get_xlabel()
    assert any("paired" in t.get_text() for t in fig.texts)
    assert (tmp_path / "d.png").stat().st_size > 0


def test_train_classifier_run_picks_one_store_only(tmp_path, capsys):
    from hil.app.cli import main

    assert main(["train", "classifier", str(tmp_path / "a.h5"), str(tmp_path / "b.h5"), "--run", "X",
                 "--out", str(tmp_path / "m.pt")]) == 1
    assert "--run picks a run of one store" in capsys.readouterr().err


def test_every_subcommand_is_in_the_readme():
    """A newcomer finds every command in the README (issue 18): each `hil A [B]` the parser knows appears there."""
    import argparse
    from pathlib import Path

    from hil.app.cli import build_parser

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()

    def commands(parser: argparse.ArgumentParser, prefix: str) -> list[str]:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            return [prefix]
        return [c for name, p in subs[0].choices.items() for c in commands(p, f"{prefix} {name}")]

    missing = [c for c in commands(build_parser(), "hil") if c not in readme]
    assert not missing, f"not in the README: {missing}"


def test_generated_files_default_under_out():
    """Files where they belong (issue 18): every output option's default lies under out/ (or is derived from the
    input, None here), never the repository root."""
    import argparse

    from hil.app.cli import build_parser

    def parsers(parser: argparse.ArgumentParser, prefix: str):
        yield prefix, parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    yield from parsers(sub, f"{prefix} {name}")

    bad = []
    for name, parser in parsers(build_parser(), "hil"):
        for action in parser._actions:
            writes = any(flag in ("--out", "--store", "--plot", "--png") for flag in action.option_strings)
            if writes and action.dest != "outbound" and isinstance(action.default, str) \
                    and not action.default.startswith("out/"):
                bad.append(f"{name} {action.option_strings[0]} = {action.default!r}")
    assert not bad, bad
