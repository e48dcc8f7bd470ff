"""The chip bench over SCPI: the InfiniiVision and QDAC-II drivers, through real PyVISA (pyvisa-py),
against their dialects fronting the chip twins — every command understood, the same traces as the
in-process roles, weights on the DAC's grid — and `hil run chip_in_the_loop` end to end through
`hil twins serve`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hil.bench import load_bench
from hil.drivers.keysight_infiniivision import KeysightInfiniiVisionDigitizer
from hil.drivers.qdevil_qdac2 import QDAC2Weights
from hil.errors import LimitError
from hil.sim.chip import ChipDigitizer, ChipInputAWG, ChipWeights, OscillatorChip
from hil.sim.scpi import serve_twins
from hil.store import Store
ROOT = Path(__file__).resolve().parent.parent

VISA = {"visa_library": "@py", "read_termination": "\n", "write_termination": "\n", "timeout": 5000}
CAL = {"w_ext": 0.5, "w_int": 0.5, "bias": 1e-9}



def Served(bench):
    """The twin server of ``bench`` in a subprocess (:class:`hil.app.cli_twins.ServedTwins`)."""
    from hil.app.cli_twins import ServedTwins

    return ServedTwins(bench, cwd=ROOT)


def ideal_chip(hidden=(5, 4)) -> OscillatorChip:
    chip = OscillatorChip(hidden=hidden, gamma_spread=0.0, readout_noise=0.0, detector_bandwidth=1e15, seed=1)
    chip.set_rail_current(2e-3)
    rng = np.random.default_rng(0)
    fans = (1,) + chip.hidden[:-1]
    chip.program({"w_ext": [rng.normal(0, 1, (n, f)) for n, f in zip(chip.hidden, fans)],
                  "w_int": [rng.normal(0, 0.3, (n, n)) for n in chip.hidden],
                  "bias": [rng.normal(0, 0.02, n) for n in chip.hidden]})
    return chip


@pytest.fixture
def scope():
    """An InfiniiVision driver on a served ChipDigitizer (16-bit ADC), the chip and an in-process AWG on it."""
    chip = ideal_chip()
    group = serve_twins({"digitizer": ("keysight_infiniivision", ChipDigitizer(chip, bits=16))})
    driver = KeysightInfiniiVisionDigitizer(group.resources["digitizer"], **VISA)
    awg = ChipInputAWG(chip)
    awg.output_on()
    yield driver, awg, chip
    driver.close()
    group.stop()


def play(awg, samples):
    awg.set_arbitrary_pulse(np.asarray(samples, dtype=float), 1e9)
    awg.arm()
    awg.trigger()


def test_one_waveform_one_capture_over_scpi_equals_the_in_process_digitizer(scope):
    """A batch as one AWG waveform (sequences + 64 ns guard), one capture: the served scope's record,
    at its own 2.5 GSa/s, equals the in-process digitizer's on an identical chip (carry-over included)."""
    driver, awg, _ = scope
    seqs = np.random.default_rng(2).uniform(0, 1, (3, 40))
    period = 40 + 64
    wave = np.zeros((3, period))
    wave[:, :40] = seqs
    samples = 2 * period + 41
    driver.configure([1, 2, 3, 4], 1e9, samples, 1, 1.5, 0.5)
    driver.arm()
    play(awg, wave.reshape(-1))
    t, volts = driver.fetch()
    assert driver.check_errors() == []
    assert volts.shape[:2] == (1, 4)
    assert 1 / (t[1] - t[0]) == pytest.approx(2.5e9)  # four channels on: the scope's rate, not the one asked
    assert t[0] == pytest.approx(0.0, abs=1e-12) and t[-1] >= (samples - 1) * 1e-9

    twin_chip = ideal_chip()  # the same device, read in process at one sample per input step
    local, local_awg = ChipDigitizer(twin_chip, bits=16), ChipInputAWG(twin_chip)
    local_awg.output_on()
    local.configure([1, 2, 3, 4], 1e9, samples, 1, 1.5, 0.5)
    local.arm()
    play(local_awg, wave.reshape(-1))
    _, reference = local.fetch()
    even = np.arange(0, samples, 2)  # every 2 ns a 2.5 GSa/s sample falls on an input step exactly
    record = np.stack([np.interp(even * 1e-9, t, ch) for ch in volts[0]])
    np.testing.assert_allclose(record, reference[0][:, even], atol=1.5 / 2**15)


def test_segmented_capture_over_scpi_one_segment_per_trigger(scope):
    driver, awg, chip = scope
    seqs = np.random.default_rng(3).uniform(0, 1, (4, 20))
    driver.configure([1, 3], 1e9, 41, 4, 1.5, 0.5)
    driver.arm()
    for s in seqs:
        play(awg, s)
    t, volts = driver.fetch()
    assert driver.check_errors() == []
    assert volts.shape == (4, 2, len(t))
    reference = chip.simulate(seqs, 1.0)[:, :, [0, 2]]
    for b in range(4):
        for k in range(2):
            got = np.interp(np.arange(21) * 1e-9, t, volts[b, k])
            np.testing.assert_allclose(got, reference[b, :, k], atol=1e-3)


def test_a_missing_trigger_raises_and_the_scope_keeps_working(scope):
    driver, awg, _ = scope
    driver.fetch_timeout = 0.2
    driver.configure([1], 1e9, 21, 2, 1.5, 0.5)
    driver.arm()
    play(awg, np.ones(20))
    with pytest.raises(Exception, match="EXT TRIG"):
        driver.fetch()
    driver.arm()
    play(awg, np.ones(20))
    play(awg, np.ones(20))
    _, volts = driver.fetch()
    assert volts.shape[:2] == (2, 1)


@pytest.fixture
def dac():
    chip = OscillatorChip(hidden=(4,), gamma_spread=0.0, readout_noise=0.0, seed=0)
    twin = ChipWeights(chip, weight_range=20.0, bias_range=1e10, bits=32, volts_per_unit=CAL)
    group = serve_twins({"weights": ("qdevil_qdac2", twin)})
    driver = QDAC2Weights(group.resources["weights"], hidden=(4,), volts_per_unit=CAL, settling_time=0.0, **VISA)
    yield driver, twin, chip
    driver.close()
    group.stop()


def test_weights_over_scpi_reach_the_chip_on_the_dac_grid(dac):
    driver, twin, chip = dac
    rng = np.random.default_rng(4)
    w = {"w_ext": [rng.normal(0, 3, (4, 1))], "w_int": [rng.normal(0, 3, (4, 4))], "bias": [rng.normal(0, 2e9, 4)]}
    driver.set_weights(w)
    driver.settle()
    assert driver.check_errors() == []
    back = driver.get_weights()
    lsb = 20.0 / 2**25  # V: a QDAC-II's 25 bits over ±10 V
    for kind in ("w_ext", "w_int", "bias"):
        volts = back[kind][0] * CAL[kind]
        np.testing.assert_allclose(volts / lsb, np.round(volts / lsb), atol=0.02)  # on the grid
        np.testing.assert_allclose(back[kind][0], w[kind][0], atol=0.51 * lsb / CAL[kind], rtol=0)  # nearest code
    np.testing.assert_allclose(chip.w_int[0], back["w_int"][0], rtol=1e-9)  # what the chip runs on
    np.testing.assert_allclose(chip.bias[0], back["bias"][0] * 1e-9, rtol=1e-9)


def test_weights_beyond_the_dac_range_are_refused_by_the_bench_guard(tmp_path):
    spec = load_bench(ROOT / "benches" / "chip-served.toml")
    served = Served(ROOT / "benches" / "chip-served.toml")
    try:
        text = (ROOT / "benches" / "chip-over-scpi.toml").read_text()
        for role, resource in served.resources.items():
            port = {"pulse_generator": 56101, "bias_source": 56102, "digitizer": 56103, "weights": 56104}[role]
            text = text.replace(f"TCPIP0::127.0.0.1::{port}::SOCKET", resource)
        bench_path = tmp_path / "scpi.toml"
        bench_path.write_text(text)
        with load_bench(bench_path).open() as bench:
            weights = bench.role("weights")
            high = weights.ranges["w_ext"][1]
            bad = {"w_ext": [np.full((4, 1), 1.01 * high)], "w_int": [np.zeros((4, 4))], "bias": [np.zeros(4)]}
            with pytest.raises(LimitError, match="never clipped"):
                weights.set_weights(bad)
    finally:
        assert served.stop() == 0
    assert spec.roles["weights"].scpi == "qdevil_qdac2"


def test_hil_run_chip_in_the_loop_over_scpi_end_to_end(tmp_path):
    served = Served(ROOT / "benches" / "chip-served.toml")
    try:
        assert set(served.resources) == {"pulse_generator", "bias_source", "digitizer", "weights"}
        text = (ROOT / "benches" / "chip-over-scpi.toml").read_text()
        for role, port in (("pulse_generator", 56101), ("bias_source", 56102), ("digitizer", 56103), ("weights", 56104)):
            text = text.replace(f"TCPIP0::127.0.0.1::{port}::SOCKET", served.resources[role])
        bench_path = tmp_path / "chip-over-scpi.toml"
        bench_path.write_text(text)
        out = tmp_path / "run.h5"
        run = subprocess.run([sys.executable, "-m", "hil.app.cli", "run", "chip_in_the_loop", "--bench", str(bench_path),
                              "--out", str(out), "--quiet", "--param", "epochs=1", "--param", "limit=24",
                              "--param", "batch=6", "--param", "eval_limit=6"],
                             cwd=ROOT, capture_output=True, text=True, timeout=240)
        assert run.returncode == 0, run.stdout + run.stderr
    finally:
        assert served.stop() == 0
    with Store(out) as store:
        (run_id,) = store.run_ids()
        (record,) = list(store.run(run_id).records())
    assert np.isfinite(record["loss"]) and 0.0 <= record["accuracy_chip"] <= 1.0
