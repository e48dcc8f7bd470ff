"""End to end: the real drivers, through real PyVISA (pyvisa-py), against the SCPI twin server.

The same procedure runs on the in-process twins and on the served ones; the
records agree within the analyser's noise. Killing the server mid-sweep fails
the run with a clear message, keeps its finished records, and leaves every
other output switched off.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from hil.bench import load_bench
from hil.procedure import run_procedure
from hil.protocols import get_procedure
from hil.store import Store
from tests.conftest import LIMITS

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = '[samples.oscillators]\nclass = "oscillator-array"\noptions = { n = 2 }\n'
TWIN_BIAS = '[roles.bias_source]\ntwin = "sim-bias-source"\nsample = "oscillators"\nscpi = "keithley2400"\n'
TWIN_SA = ('[roles.spectrum_analyser]\ntwin = "sim-spectrum-analyser"\nsample = "oscillators"\n'
           'scpi = "keysight_xseries"\n')
VISA = 'options = { visa_library = "@py", read_termination = "\\n", write_termination = "\\n", timeout = 3000 }\n'
DRIVERS = {
    "bias_source": "keithley2400",
    "spectrum_analyser": "keysight-xseries",
}
PARAMS = {"currents": "0.5mA,2mA,3mA", "points": "201", "zero_span_time": "1us"}



def Served(bench):
    """The twin server of ``bench`` in a subprocess (:class:`hil.app.cli_twins.ServedTwins`)."""
    from hil.app.cli_twins import ServedTwins

    return ServedTwins(bench, cwd=ROOT)


def driver_entry(role: str, resource: str) -> str:
    return f'[roles.{role}]\ndriver = "{DRIVERS[role]}"\nresource = "{resource}"\n' + VISA


def test_same_records_in_process_and_over_scpi(write_bench, tmp_path):
    twins = write_bench(LIMITS + SAMPLE + TWIN_BIAS + TWIN_SA, "twins.toml")
    served = Served(twins)
    try:
        scpi = write_bench(LIMITS + "".join(driver_entry(r, served.resources[r]) for r in DRIVERS), "scpi.toml")
        proc = get_procedure("bias_sweep")
        with Store(tmp_path / "e2e.h5") as store:
            for bench_path in (twins, scpi):
                with load_bench(bench_path).open() as bench:
                    run_procedure(proc, bench, store, PARAMS, progress=False)
            local, remote = (list(store.run(r).records()) for r in store.run_ids())
    finally:
        assert served.stop() == 0  # SIGTERM stops it cleanly
    assert len(local) == len(remote) == 3
    for a, b in zip(local, remote):
        assert b["voltage"] == pytest.approx(a["voltage"], rel=1e-4)
        np.testing.assert_allclose(b["frequency"], a["frequency"], rtol=1e-7)
        assert b["peak_frequency"] == pytest.approx(a["peak_frequency"], abs=5e6)
        above = a["power_dbm"] > -85  # the line, where noise is negligible
        np.testing.assert_allclose(b["power_dbm"][above], a["power_dbm"][above], atol=1.0)
        assert abs(np.median(b["power_dbm"]) - np.median(a["power_dbm"])) < 1.5  # same noise floor
    assert local[0]["peak_power_dbm"] < -85 < local[2]["peak_power_dbm"]


def test_server_killed_mid_sweep_fails_the_run_and_leaves_outputs_off(write_bench, tmp_path):
    served = Served(write_bench(LIMITS + SAMPLE + TWIN_SA, "sa.toml"))
    mixed = write_bench(LIMITS + SAMPLE + TWIN_BIAS + driver_entry("spectrum_analyser", served.resources["spectrum_analyser"]),
                        "mixed.toml")
    proc = get_procedure("bias_sweep")
    params = dict(PARAMS, currents="1mA:3mA:40", settle="50ms")
    killer = threading.Timer(0.8, served.proc.kill)
    out = tmp_path / "killed.h5"
    try:
        with Store(out) as store:
            with pytest.raises(Exception) as info:
                with load_bench(mixed).open() as bench:
                    bias = bench.bias_source.instrument
                    killer.start()
                    run_procedure(proc, bench, store, params, progress=False)
            run = store.run(store.run_ids()[0])
            assert run.status == "failed"
            n = len(run.completed())
            assert 1 <= n < 40 and run.completed() == list(range(n))
            message = run.attrs["message"]
    finally:
        killer.cancel()
        served.stop()
    text = f"{info.value}"
    assert any(w in (text + message).lower() for w in ("timeout", "timed out", "connection", "reset", "closed", "broken"))
    assert bias.output is False and bias.closed and bias.sample.current[0] == 0.0


def test_hil_run_refuses_an_out_of_limit_plan_before_a_run_exists(tmp_path, oscillator_bench):
    # the plan is checked against the bench limits first: no run, nothing sent (was: a failed run after point 0)
    from hil.app.cli import main

    out = tmp_path / "f.h5"
    assert main(["run", "bias_sweep", "--bench", str(oscillator_bench), "--param", "currents=1mA,9mA",
                 "--out", str(out), "--quiet"]) == 1
    assert not out.exists()
