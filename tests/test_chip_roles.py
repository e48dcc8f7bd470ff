"""The Digitizer and Weights roles: their guards, the chip's twins of them, and protocols that use roles only."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from hil import roles
from hil.bench import load_bench, missing_members
from hil.errors import InstrumentError, LimitError
from hil.guards import GUARDS
from hil.models.oscillator_net import OscillatorNet
from hil.sim.chip import ChipDigitizer, ChipWeights, OscillatorChip
from tests.chip_benches import ideal, write_chip_bench

ROOT = Path(__file__).resolve().parent.parent


def test_the_new_roles_are_registered_with_guards_and_the_twins_satisfy_them():
    assert roles.ROLES["digitizer"] is roles.Digitizer and roles.ROLES["weights"] is roles.Weights
    assert GUARDS["digitizer"].role is roles.Digitizer and GUARDS["weights"].role is roles.Weights
    assert missing_members(ChipDigitizer, roles.Digitizer) == []
    assert missing_members(ChipWeights, roles.Weights) == []
    spec = load_bench(ROOT / "benches" / "chip.toml")
    assert {"digitizer", "weights"} <= set(spec.roles)


def program_of(chip: OscillatorChip, seed: int = 0) -> dict:
    prog = OscillatorNet(hidden=chip.hidden, seed=seed).chip_program(0)
    return {"w_ext": prog["w_ext"], "w_int": prog["w_int"], "bias": [np.full(n, 0.05e9) for n in chip.hidden]}


# -- weights ---------------------------------------------------------------------------

def test_an_out_of_range_weight_is_refused_by_the_guard_before_the_twin_sees_it(tmp_path):
    with load_bench(write_chip_bench(tmp_path, hidden=(4, 3))).open() as bench:
        weights, chip = bench.role("weights"), bench.samples["chip"]
        twin = weights.instrument
        low, high, _ = weights.ranges["w_int"]
        prog = program_of(chip)
        prog["w_int"][1][0, 2] = high * 1.01
        with pytest.raises(LimitError, match=r"never clipped.*w_int\[1\] spans .* outside the range \[-16, 15.9995\]"):
            weights.set_weights(prog)
        prog["w_int"][1][0, 2] = np.nan
        with pytest.raises(LimitError, match=r"w_int\[1\] contains NaN"):
            weights.set_weights(prog)
        with pytest.raises(LimitError, match=r"bias\[0\] has shape \(3,\), the chip needs \(4,\)"):
            weights.set_weights(dict(prog, bias=[np.zeros(3), np.zeros(3)]))
        with pytest.raises(LimitError, match="unknown kind 'tau'"):
            weights.set_weights(dict(program_of(chip), tau=14.12))
        assert not any(call == "set_weights" for call, _ in twin.received)  # nothing reached the twin
        assert all(np.all(w == 0) for w in chip.w_int)  # the chip still has its power-on zeros


def test_weights_are_quantised_to_the_dac_codes_and_reach_the_chip_when_settled(tmp_path):
    with load_bench(write_chip_bench(tmp_path, hidden=(4, 3), weights=dict(weight_range=2.0, bits=8))).open() as bench:
        weights, chip = bench.role("weights"), bench.samples["chip"]
        low, high, step = weights.ranges["w_ext"]
        assert step == pytest.approx(4.0 / 256) and low == -2.0 and high == pytest.approx(2.0 - step)
        prog = program_of(chip)
        prog["w_ext"][0][:] = 0.3 * step + 5 * step  # between codes: rounds to the nearest
        weights.set_weights(prog)
        assert np.all(chip.w_ext[0] == 0)  # not settled yet: the chip runs the old values
        weights.settle()
        np.testing.assert_allclose(chip.w_ext[0], 5 * step, rtol=0, atol=1e-15)
        bstep = weights.ranges["bias"][2]  # 1/s at the role, 1/ns in the chip
        np.testing.assert_allclose(chip.bias[0], np.round(0.05e9 / bstep) * bstep * 1e-9, rtol=1e-12)
        assert np.all(weights.get_weights()["w_ext"][0] == chip.w_ext[0])
        # a pruned connection stays exactly off (0 is a code)
        assert np.all(chip.w_int[1][prog["w_int"][1] == 0] == 0)


def test_the_weights_twin_refuses_out_of_range_itself_too():
    chip = OscillatorChip(hidden=(2,))
    dac = ChipWeights(chip, weight_range=1.0)
    prog = program_of(chip)
    prog["w_ext"][0][:] = 1.5
    with pytest.raises(ValueError, match="outside the DAC span"):
        dac.set_weights(prog)


# -- digitizer ---------------------------------------------------------------------------

def played_bench(tmp_path, **digitizer):
    return load_bench(write_chip_bench(tmp_path, hidden=(5, 4), digitizer=digitizer or None,
                                       **ideal(detector_bandwidth=300e6, readout_noise=0.0))).open()


def play(bench, seqs, rate, channels, samples, full_range=1.5, offset=0.5):
    dig, awg = bench.role("digitizer"), bench.pulse_generator
    dig.configure(channels, rate, samples, len(seqs), full_range, offset)
    dig.arm()
    for s in seqs:
        awg.set_arbitrary_pulse(s, rate)
        awg.arm()
        awg.trigger()
    return dig.fetch()


def test_digitizer_capture_has_the_configured_shape_time_axis_and_volts(tmp_path):
    seqs = np.random.default_rng(2).uniform(0, 1, (3, 12))
    with played_bench(tmp_path, bits=16, volts_per_unit=0.8) as bench:
        chip = bench.samples["chip"]
        bench.bias_source.output_on()
        bench.bias_source.set_current(2e-3)
        bench.pulse_generator.output_on()
        chip.program(program_of(chip))
        ref = chip.measure_batch(seqs, 1.0)  # (3, 13, 4), the chip's batched physics, x units
        # two samples per input step, and 8 ns past the sequence (input off: zeros)
        t, volts = play(bench, seqs, 2e9, [4, 1], 41)
        padded = chip.measure_batch(np.concatenate([seqs, np.zeros((3, 8))], axis=1), 1.0)
    assert t.shape == (41,) and volts.shape == (3, 2, 41)
    np.testing.assert_allclose(t, np.arange(41) * 0.5e-9, rtol=0, atol=1e-21)
    lsb = 1.5 / 2**16
    # on the input steps: the chip's trace; between them: linear interpolation
    np.testing.assert_allclose(volts[:, 0, ::2], 0.8 * padded[:, :, 3], atol=lsb)
    np.testing.assert_allclose(volts[:, 1, :25:2], 0.8 * ref[:, :, 0], atol=lsb)
    mid = 0.4 * (padded[:, :-1, 0] + padded[:, 1:, 0])
    np.testing.assert_allclose(volts[:, 1, 1::2], mid, atol=lsb)
    codes = (volts - 0.5) / lsb
    np.testing.assert_allclose(codes, np.round(codes), atol=1e-6)  # every sample is an ADC code


def test_digitizer_adc_saturates_at_full_scale_and_counts_it(tmp_path):
    with played_bench(tmp_path, bits=8) as bench:
        bench.bias_source.output_on()
        bench.bias_source.set_current(2e-3)
        _, volts = play(bench, [np.zeros(4)], 1e9, [1], 5, full_range=0.2, offset=0.0)
        assert volts.max() == pytest.approx(0.1 - 0.2 / 256)  # x at rest ≈ 0.5 is far above +0.1 V
        assert bench.role("digitizer").instrument.overrange == 5


def test_digitizer_fetch_without_every_trigger_says_what_is_missing(tmp_path):
    with played_bench(tmp_path) as bench:
        dig, awg = bench.role("digitizer"), bench.pulse_generator
        dig.configure([1, 2], 1e9, 5, 3, 1.5, 0.5)
        dig.arm()
        awg.set_arbitrary_pulse(np.zeros(4), 1e9)
        awg.arm()
        awg.trigger()
        with pytest.raises(InstrumentError, match="1 of 3 segments triggered.*EXT TRIG"):
            dig.fetch()
        with pytest.raises(InstrumentError, match="without an armed acquisition"):
            dig.fetch()


@pytest.mark.parametrize("args, match", [
    (([], 1e9, 5, 2, 1.0), "no channels"),
    (([1, 1], 1e9, 5, 2, 1.0), "channels repeat"),
    (([0], 1e9, 5, 2, 1.0), "channel number must be a whole number >= 1"),
    (([1], -1e9, 5, 2, 1.0), "sample rate must be > 0"),
    (([1], float("nan"), 5, 2, 1.0), "not a finite number"),
    (([1], 1e9, 2.5, 2, 1.0), "samples per segment must be a whole number"),
    (([1], 1e9, 5, 0, 1.0), "segments must be a whole number >= 1"),
    (([1], 1e9, 5, 2, 0.0), "vertical range must be > 0"),
])
def test_the_digitizer_guard_refuses_impossible_setups_before_the_instrument(tmp_path, args, match):
    with played_bench(tmp_path) as bench:
        dig = bench.role("digitizer")
        with pytest.raises(LimitError, match=match):
            dig.configure(*args)
        assert not any(call == "configure" for call, _ in dig.instrument.received)
        with pytest.raises(ValueError, match="do not exist; this digitizer has 1..4"):
            dig.configure([5], 1e9, 5, 2, 1.0)  # the instrument's own limit


# -- protocols speak to roles only ----------------------------------------------------------

def test_no_protocol_reaches_into_a_twin_sample():
    """hil/protocols/*.py never call ``.sample(...)`` (nor read ``.samples``): a real bench has no sample."""
    offenders = []
    for path in sorted((ROOT / "protocols").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "sample":
                offenders.append(f"{path.name}:{node.lineno} .sample(...)")
            if isinstance(node, ast.Attribute) and node.attr == "samples":
                offenders.append(f"{path.name}:{node.lineno} .samples")
    assert not offenders, "protocols must use roles only: " + ", ".join(offenders)
