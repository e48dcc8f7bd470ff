"""Outputs off on every catchable exit, checked from outside: `hil run` in a subprocess drives the
SCPI twins (`hil twins serve`) through real PyVISA, and afterwards a VISA query asks the bias
source itself whether its output is off.

SIGHUP (terminal closed), a double Ctrl-C, a protocol exception and SIGTERM with a hung
instrument ahead of the bias source in the shutdown order.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from hil.store import Store
from tests.conftest import LIMITS
from tests.test_e2e_scpi import SAMPLE, TWIN_BIAS, TWIN_SA, Served, driver_entry

ROOT = Path(__file__).resolve().parent.parent
SWEEP = ["--param", "currents=1mA:3mA:40", "--param", "settle=100ms", "--param", "points=201", "--quiet"]

PLUGIN = '''
import time
from hil.sim.twins.analyser import SimSpectrumAnalyser

class HungAnalyser(SimSpectrumAnalyser):
    """An analyser whose shutdown never returns (a wedged GPIB bus, a frozen firmware)."""

    def shutdown(self):
        time.sleep(300)

class SlowAnalyser(SimSpectrumAnalyser):
    """An analyser that takes 1 s to shut down: long enough for a second Ctrl-C to land meanwhile."""

    def shutdown(self):
        time.sleep(1.0)
        super().shutdown()
'''


def plugin_environment(plugin: Path) -> dict:
    """Write a third-party twin package into ``plugin`` (entry points in a dist-info): hung-analyser and
    slow-analyser; return the environment that puts it on PYTHONPATH. Shared with benchmarks/faults_engine.py."""
    (plugin / "exit_twins-0.1.dist-info").mkdir(parents=True)
    (plugin / "exit_twins.py").write_text(PLUGIN)
    (plugin / "exit_twins-0.1.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: exit-twins\nVersion: 0.1\n")
    (plugin / "exit_twins-0.1.dist-info" / "entry_points.txt").write_text(
        "[spin_hil.twins]\nhung-analyser = exit_twins:HungAnalyser\nslow-analyser = exit_twins:SlowAnalyser\n")
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(plugin), os.environ.get("PYTHONPATH", "")]))


@pytest.fixture(scope="module")
def plugin_env(tmp_path_factory):
    """A third-party twin package on PYTHONPATH: hung-analyser, slow-analyser."""
    return plugin_environment(tmp_path_factory.mktemp("plugin"))


def _plugin_bench(tmp_path: Path, served: "Served", analyser: str) -> Path:
    """The plugin analyser first in the shutdown order, then the bias source over SCPI."""
    bench = tmp_path / f"{analyser}.toml"
    bench.write_text(textwrap.dedent(LIMITS) + SAMPLE
                     + f'[roles.spectrum_analyser]\ntwin = "{analyser}"\nsample = "oscillators"\n'
                     + driver_entry("bias_source", served.resources["bias_source"]))
    return bench


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    folder = tmp_path_factory.mktemp("served")
    twins = folder / "twins.toml"
    twins.write_text(textwrap.dedent(LIMITS) + SAMPLE + TWIN_BIAS + TWIN_SA)
    server = Served(twins)
    yield server
    server.stop()


def _visa_bias(served: Served) -> tuple[str, float]:
    """What the bias source itself answers: (OUTP?, :SOUR:CURR?), over a fresh VISA connection."""
    import pyvisa

    rm = pyvisa.ResourceManager("@py")
    try:
        inst = rm.open_resource(served.resources["bias_source"], read_termination="\n", write_termination="\n",
                                timeout=3000)
        try:
            return inst.query("OUTP?").strip(), float(inst.query(":SOUR:CURR?"))
        finally:
            inst.close()
    finally:
        rm.close()


def _start(bench: Path, out: Path, extra: list[str] = (), env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "hil.app.cli", "run", "bias_sweep", "--bench", str(bench),
                             "--out", str(out), *SWEEP, *extra], cwd=ROOT, stderr=subprocess.PIPE, text=True,
                            env=env)


def _wait_for_records(proc: subprocess.Popen, out: Path, n: int = 2, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert proc.poll() is None, proc.stderr.read()
        try:
            with Store(out, "r") as store:
                ids = store.run_ids()
                if ids and len(store.run(ids[0]).completed()) >= n:
                    return
        except Exception:
            pass
        time.sleep(0.1)
    raise AssertionError("the sweep recorded nothing in time")


def _run_info(out: Path):
    with Store(out, "r") as store:
        return store.runs()[0]


def _scpi_bench(tmp_path: Path, served: Served) -> Path:
    bench = tmp_path / "scpi.toml"
    bench.write_text(textwrap.dedent(LIMITS) + driver_entry("bias_source", served.resources["bias_source"])
                     + driver_entry("spectrum_analyser", served.resources["spectrum_analyser"]))
    return bench


def test_sighup_mid_sweep_leaves_the_bias_output_off_and_the_run_interrupted(served, tmp_path):
    out = tmp_path / "s.h5"
    proc = _start(_scpi_bench(tmp_path, served), out)
    _wait_for_records(proc, out)
    assert _visa_bias(served)[0] == "1"  # on, mid-sweep
    proc.send_signal(signal.SIGHUP)  # the terminal or SSH session closed
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 129, err
    assert _visa_bias(served) == ("0", 0.0)
    assert "bias_source: output OFF (read back)" in err and "interrupted by SIGHUP" in err
    info = _run_info(out)
    assert info.status == "interrupted" and info.message == "interrupted by SIGHUP"
    assert 2 <= info.records < 40


def test_second_ctrl_c_during_shutdown_does_not_skip_the_bias_source(served, plugin_env, tmp_path):
    out = tmp_path / "c.h5"
    proc = _start(_plugin_bench(tmp_path, served, "slow-analyser"), out, env=plugin_env)
    _wait_for_records(proc, out)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.4)  # the slow analyser (first in line) is shutting down now
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "SIGINT again: still switching outputs off" in err
    assert "bias_source: output OFF (read back)" in err
    assert _visa_bias(served) == ("0", 0.0)
    info = _run_info(out)
    assert info.status == "interrupted" and info.message == "interrupted by SIGINT"


def test_protocol_exception_leaves_outputs_off_and_the_run_failed(served, tmp_path):
    # the analyser refuses 10^6 trace points in prepare(), after the bias output went on
    out = tmp_path / "x.h5"
    proc = _start(_scpi_bench(tmp_path, served), out, ["--param", "points=1000000"])
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err
    assert _visa_bias(served) == ("0", 0.0) and "bias_source: output OFF (read back)" in err
    info = _run_info(out)
    assert info.status == "failed" and info.records == 0 and "points" in info.message


def test_sigterm_with_a_hung_instrument_still_switches_the_bias_off(served, plugin_env, tmp_path):
    out = tmp_path / "h.h5"
    proc = _start(_plugin_bench(tmp_path, served, "hung-analyser"), out, ["--shutdown-timeout", "1s"], env=plugin_env)
    _wait_for_records(proc, out)
    start = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert time.monotonic() - start < 15  # bounded: 1 s for the hung one, not its 300 s
    assert "spectrum_analyser: COULD NOT CONFIRM off (shutdown did not finish within 1 s)" in err
    assert "bias_source: output OFF (read back)" in err
    assert _visa_bias(served) == ("0", 0.0)
    assert (_run_info(out).status, _run_info(out).message) == ("interrupted", "interrupted by SIGTERM")
