"""protocols/device_response on the simulated benches, tiny sizes: what was driven is what was recorded."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hil.bench import default_bench_path, load_bench
from hil.errors import HilError
from hil.procedure import run_procedure
from hil.protocols import get_procedure
from hil.store import Store
from hil.protocols.device_response import sine_drive


def _tiny_skyrmion_bench(tmp_path):
    """benches/spin_node.toml without compiling the LLG step (a test runs too few steps to repay it)."""
    text = default_bench_path().with_name("spin_node.toml").read_text().replace("compile = true", "compile = false")
    path = tmp_path / "bench.toml"
    path.write_text(text)
    return load_bench(path)


def test_field_drive_records_the_programmed_field_and_mz(tmp_path):
    params = {"drive": "field", "records": 2, "points": 6, "sample_interval": 20e-12, "frequency": 10e9,
              "amplitude_min": 0.1, "amplitude_max": 0.2}
    with Store(tmp_path / "r.h5") as store, _tiny_skyrmion_bench(tmp_path).open() as bench:
        run = run_procedure(get_procedure("device_response"), bench, store, params, progress=False)
        pg = bench.pulse_generator.instrument
        uploads = [args for name, args in pg.received if name == "set_arbitrary_pulse"]
        recs, status = list(run.records()), run.status
    assert status == "complete" and len(recs) == 2 and len(uploads) == 2
    for rec, (volts, rate) in zip(recs, uploads):
        t = rec["time"]
        assert np.all(np.diff(t) > 0) and len(t) == 6 and rate == 80e9
        # the recorded input is the programmed sine of the record's amplitudes, through the coil
        expected = sine_drive(t, rec["amplitudes"], 10e9)
        assert np.max(np.abs(rec["field"] - expected)) < 0.1 * 0.2  # 8 AWG samples a period, linear between
        assert np.all((rec["amplitudes"] >= 0.1) & (rec["amplitudes"] <= 0.2))
        np.testing.assert_allclose(rec["field"], 0.4 * rec["voltage"])
        assert np.all(np.abs(rec["mz"]) <= 1) and rec["mz"][0] < -0.5  # skyrmion in a −z background
        assert json.loads(rec["units"])["field"] == "T"
    assert not np.allclose(recs[0]["amplitudes"], recs[1]["amplitudes"])  # a new random sequence per record


def test_current_drive_records_a_joined_uniform_trace(tmp_path):
    params = {"drive": "current", "records": 1, "points": 40, "points_per_hold": 10, "hold": 1e-6, "rbw": 8e6,
              "frequency": 4.0e9, "current_min": 1.5e-3, "current_max": 2.5e-3}
    with Store(tmp_path / "r.h5") as store, load_bench(default_bench_path()).open() as bench:
        run = run_procedure(get_procedure("device_response"), bench, store, params, progress=False)
        rec = run.record(0)
        set_currents = [a[0] for name, a in bench.bias_source.instrument.received if name == "set_current"]
    t = rec["time"]
    np.testing.assert_allclose(np.diff(t), 1e-7, rtol=1e-9)  # 10 points per 1 µs hold, no repeated ends
    held = rec["current"].reshape(4, 10)
    assert np.all(held == held[:, :1])
    np.testing.assert_allclose(held[:, 0], rec["currents"])
    np.testing.assert_allclose(set_currents[1:], rec["currents"], atol=1e-9)  # first: the settling hold
    assert np.all(np.isfinite(rec["power_dbm"]))


def test_bad_sizes_are_refused():
    proc = get_procedure("device_response")
    with pytest.raises(HilError, match="multiple of points_per_hold"):
        proc.plan(proc.resolve({"drive": "current", "points": 45, "points_per_hold": 10}))
    with pytest.raises(HilError, match="drive must be one of"):
        proc.plan(proc.resolve({"drive": "light"}))
