"""The runner: records per point, failure marking, resume without redoing work."""

from __future__ import annotations

import pytest

from hil.bench import load_bench
from hil.errors import HilError
from hil.procedure import run_procedure
from hil.protocols import get_procedure
from hil.store import Store


def test_bias_sweep_on_twins(oscillator_bench, tmp_path):
    proc = get_procedure("bias_sweep")
    with Store(tmp_path / "s.h5") as store, load_bench(oscillator_bench).open() as bench:
        run = run_procedure(proc, bench, store, {"currents": "0.5mA,2mA,4mA", "points": "201"}, progress=False)
        recs = list(run.records())
        assert run.status == "complete" and len(recs) == 3
    # physics: below threshold (1 mA) no line; above it the line grows with current
    peaks = [r["peak_power_dbm"] for r in recs]
    assert peaks[0] < -85 and peaks[1] < peaks[2]
    # the line moves up in frequency with power (nonlinear shift)
    assert recs[2]["peak_frequency"] > recs[1]["peak_frequency"]
    assert recs[1]["voltage"] == pytest.approx(2e-3 * 100.0)


def test_failure_marks_run_failed_and_keeps_records(oscillator_bench, tmp_path, monkeypatch):
    proc = get_procedure("bias_sweep")
    real = proc.measure

    def measure(bench, point, params):
        if point["current"] > 2.5e-3:
            raise RuntimeError("analyser lost its reference")
        return real(bench, point, params)

    monkeypatch.setattr(proc, "measure", measure)
    with Store(tmp_path / "f.h5") as store, load_bench(oscillator_bench).open() as bench:
        with pytest.raises(RuntimeError, match="reference"):
            run_procedure(proc, bench, store, {"currents": "1mA,2mA,3mA,4mA", "points": "51"}, progress=False)
        run = store.run(store.run_ids()[0])
        assert run.status == "failed" and run.attrs["message"] == "RuntimeError: analyser lost its reference"
        assert run.completed() == [0, 1]
        assert bench.bias_source.instrument.output is True  # still inside the with: the bench decides


def test_out_of_limit_point_refused_before_anything_is_sent(oscillator_bench, tmp_path):
    proc = get_procedure("bias_sweep")
    with Store(tmp_path / "f.h5") as store, load_bench(oscillator_bench).open() as bench:
        with pytest.raises(HilError) as info:
            run_procedure(proc, bench, store, {"currents": "1mA,2mA,10mA,3mA"}, progress=False)
        assert store.run_ids() == []
        bias, sa = bench.bias_source.instrument, bench.spectrum_analyser.instrument
        assert bias.received == [] and sa.received == []
    text = str(info.value)
    assert "point 2 of 4 (current=0.01)" in text and "max_bias_current = 0.005 A" in text


def test_resume_measures_only_missing_points(oscillator_bench, tmp_path):
    proc = get_procedure("bias_sweep")
    params = {"currents": "1mA,2mA,3mA", "points": "51"}
    with Store(tmp_path / "r.h5") as store, load_bench(oscillator_bench).open() as bench:
        run = store.create_run("bias_sweep", proc.resolve(params), bench.spec.text)
        run.write_record(1, {"current": 2e-3, "marker": "kept"})
        run.finish("failed", "simulated crash")
        resumed = run_procedure(proc, bench, store, params, resume=run.run_id, progress=False)
        assert resumed.status == "complete" and resumed.completed() == [0, 1, 2]
        assert resumed.record(1)["marker"] == "kept"
        sweeps = [m for m, _ in bench.spectrum_analyser.instrument.received if m == "sweep"]
        assert len(sweeps) == 2  # points 0 and 2 only
        with pytest.raises(HilError, match=r"param currents: stored \[0.001, 0.002, 0.003\], now \[0.0005\]"):
            run_procedure(proc, bench, store, dict(params, currents="0.5mA"), resume=run.run_id, progress=False)


def test_unknown_procedure_and_parameter():
    with pytest.raises(HilError, match="known: .*bias_sweep"):
        get_procedure("iv_curve")
    with pytest.raises(HilError, match="no parameter voltage"):
        get_procedure("bias_sweep").resolve({"voltage": "1"})


def test_parameters_are_read_with_their_units():
    proc = get_procedure("bias_sweep")
    params = proc.resolve({"currents": "0:4mA:5", "compliance": "3V", "centre": "4.5GHz", "points": "51"})
    assert params["currents"] == [0.0, 1e-3, 2e-3, 3e-3, 4e-3]
    assert (params["compliance"], params["centre"], params["points"]) == (3.0, 4.5e9, 51)
    assert proc.resolve({})["currents"] == [0.0, 1e-3, 2e-3, 3e-3]  # the declared default, "0:3mA:4"
    assert proc.resolve({"currents": [1e-3, 2e-3]})["currents"] == [1e-3, 2e-3]  # numbers from code pass as they are
    for given, words in (({"currents": "1e-3,2e-3"}, "currents='1e-3,2e-3': 1e-3 what? give a unit, e.g. 1mA"),
                         ({"compliance": "2"}, "compliance='2': 2 what? give a unit, e.g. 2V"),
                         ({"currents": "0:4mA:1e8"}, "must be a whole number"),
                         ({"points": "many"}, "points='many'")):
        with pytest.raises(HilError) as info:
            proc.resolve(given)
        assert words in str(info.value)
