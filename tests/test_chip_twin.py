"""The chip twin: same neuron as the digital model, real-chip imperfections, and its instruments."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hil.bench import load_bench
from hil.models.oscillator_net import OscillatorNet
from hil.models.oscillator_net import logistic_step as torch_step
from hil.sim.chip import ChipBiasSource, ChipInputAWG, ChipTimeout, OscillatorChip
from hil.sim.oscillator import logistic_step as numpy_step

torch.set_num_threads(1)
GAMMA = 1 / 14.12


def ideal_chip(hidden=(6, 5), **kw) -> OscillatorChip:
    opts = dict(hidden=hidden, gamma_spread=0.0, readout_noise=0.0, detector_bandwidth=1e15)
    opts.update(kw)
    chip = OscillatorChip(**opts)
    chip.set_rail_current(2 * chip.threshold_current)  # the reference fixed bias 2γ
    return chip


def test_numpy_and_torch_neuron_steps_agree():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, 5000)
    drive = rng.uniform(-2, 2, 5000)
    for dt in (0.05, 1.0, 7.0):
        ref = numpy_step(x, drive / GAMMA, np.full_like(x, GAMMA), dt)  # the array's form: ζ = I/γ
        got = torch_step(torch.from_numpy(x), torch.from_numpy(drive), GAMMA, dt).numpy()
        np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("dt", [0.5, 1.0])
def test_ideal_chip_runs_the_digital_model_exactly(dt):
    model = OscillatorNet(hidden=(6, 5), dt=dt, seed=4)
    with torch.no_grad():
        for b in model.bias:
            b.uniform_(-0.1, 0.1)
    chip = ideal_chip()
    chip.program(model.chip_program(0))
    x = torch.rand(4, 20)
    traces = chip.measure_batch(x.numpy(), dt)
    with torch.no_grad():
        want = model.forward_states(x)[0]
    got = model.highpass_of_trace(torch.from_numpy(traces))
    torch.testing.assert_close(got, want, rtol=1e-4, atol=2e-6)


def test_the_real_chip_differs_by_its_spread_and_noise():
    model = OscillatorNet(hidden=(6, 5), seed=4)
    spread = ideal_chip(gamma_spread=0.1, seed=1)
    assert np.std(np.concatenate(spread.gamma)) / GAMMA == pytest.approx(0.1, abs=0.04)
    noisy = ideal_chip(readout_noise=0.01)
    x = np.random.default_rng(0).uniform(0, 1, (3, 16))
    for c in (spread, noisy):
        c.program(model.chip_program(0))
    clean = ideal_chip()
    clean.program(model.chip_program(0))
    ref = clean.measure_batch(x, 1.0)
    assert 1e-3 < np.abs(spread.measure_batch(x, 1.0) - ref).max() < 0.2
    assert np.std(noisy.measure_batch(x, 1.0) - ref) == pytest.approx(0.01, rel=0.2)
    # each device rests at its own fixed point 1 − γ_i/(2γ)
    np.testing.assert_allclose(spread._rest_state(1)[0][0][0], 1 - spread.gamma[0] / (2 * GAMMA))


def test_programming_wrong_shapes_or_nan_is_refused_with_the_reason():
    chip = ideal_chip()
    prog = OscillatorNet(hidden=(6, 5), seed=0).chip_program(0)
    bad = dict(prog, w_int=[prog["w_int"][0], np.zeros((4, 4))])
    with pytest.raises(ValueError, match=r"w_int\[1\] has shape \(4, 4\), this chip needs \(5, 5\)"):
        chip.program(bad)
    with pytest.raises(ValueError, match="one array per layer"):
        chip.program(dict(prog, bias=prog["bias"][:1]))
    nan = dict(prog, bias=[prog["bias"][0], np.full(5, np.nan)])
    with pytest.raises(ValueError, match="NaN"):
        chip.program(nan)
    with pytest.raises(ValueError, match="NaN"):
        chip.measure_batch(np.array([[0.1, np.nan]]), 1.0)


def test_a_chip_that_stops_answering_raises_a_timeout():
    chip = ideal_chip(fail_after=2)
    chip.measure_batch(np.zeros((1, 3)), 1.0)
    chip.measure_batch(np.zeros((1, 3)), 1.0)
    with pytest.raises(ChipTimeout, match="did not answer"):
        chip.measure_batch(np.zeros((1, 3)), 1.0)


def test_bias_source_quantises_and_refuses_out_of_range():
    chip = OscillatorChip(hidden=(2,))
    src = ChipBiasSource(chip, resolution=1e-5)
    src.output_on()
    src.set_current(2.0004e-3)
    assert chip.rail_current == pytest.approx(2.0e-3)
    assert chip.rail_drive == pytest.approx(2 * GAMMA * 1.0, rel=1e-9)
    with pytest.raises(ValueError, match="outside the source range"):
        src.set_current(1.0)
    src.shutdown()
    assert chip.rail_current == 0.0


def test_zero_span_path_reads_what_the_batched_path_reads():
    """AWG + zero span through the guarded roles of benches/chip.toml ≈ the batched readout."""
    from hil.protocols.chip_in_the_loop import ZeroSpanLink, output_frequencies, power_up

    spec = load_bench("benches/chip.toml")
    with spec.open() as bench:
        chip = bench.sample("chip")
        chip.readout_noise = 0.0
        chip.detector_bandwidth = 8e6  # the batched detector as slow as the analyser's RBW filter
        power_up(bench, 2e-3, 2.0)
        model = OscillatorNet(seed=0)
        seq = np.random.default_rng(1).uniform(0, 1, (1, 24))
        outs = [0, 17]
        freqs = output_frequencies(2e9, 100e6, 64, 32)[outs]
        link = ZeroSpanLink(bench, freqs, rbw=8e6, full_scale_dbm=-60.0)
        link.program(model.chip_program(0))  # through the weights role
        via_roles = link.measure(seq, 1.0)
        batched = chip.measure_batch(seq, 1.0)[:, :, outs]
        assert isinstance(bench.pulse_generator.instrument, ChipInputAWG)
    np.testing.assert_allclose(via_roles, batched, atol=0.03)


def test_the_chip_keeps_triggered_sequences_only_while_a_digitizer_is_armed():
    chip = ideal_chip()
    chip.start(np.ones(3), 1.0)
    chip.open_capture()
    chip.start(np.full(4, 0.5), 1.0)
    chip.start(np.zeros(2), 0.5)
    played = chip.take_capture()
    assert [(u.shape, dt) for u, dt in played] == [((4, 1), 1.0), ((2, 1), 0.5)]
    chip.start(np.ones(3), 1.0)
    assert chip.take_capture() == [] and chip.sequences_run == 4
    # replaying what was played counts nothing more: the sequences were counted at their trigger
    chip.measure_played(np.zeros((2, 3)), 1.0)
    assert chip.sequences_run == 4
