"""Chip-in-the-loop: the loss sees the chip, the gradient the model; roles only; a dead chip stops cleanly."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hil.bench import load_bench
from hil.errors import HilError
from hil.models.digits import load_digits_sequences
from hil.models.oscillator_net import OscillatorNet, chip_in_the_loop
from hil.models.train import TrainConfig, load_checkpoint, nll_loss
from hil.protocols.chip_in_the_loop import (ChipStopped, ChipTrainer, DigitizerLink, ZeroSpanLink, chip_states,
                                            power_up, readout_name)
from hil.sim.chip import OscillatorChip
from tests.chip_benches import chip_bench_text, ideal, write_chip_bench

torch.set_num_threads(1)

#: an ADC and DACs fine enough that an ideal chip reads back the digital model to float precision
FINE = dict(digitizer=dict(bits=24), weights=dict(bits=32))


def chip_link(tmp_path, hidden, name="chip.toml", guard=64.0, mode="segments", **kw):
    """An open chip bench (powered up) and its DigitizerLink; close the bench when done."""
    bench = load_bench(write_chip_bench(tmp_path, name, hidden=hidden, **kw)).open()
    power_up(bench, 2e-3, 2.0)
    return bench, DigitizerLink(bench, n_out=hidden[-1], guard=guard, batch_mode=mode)


def grads(model, states_fn, x, y):
    model.zero_grad()
    nll_loss(model.readout(states_fn(x)), y).backward()
    return [p.grad.clone() for p in model.parameters()]


def test_autograd_function_passes_the_models_gradient_and_the_chips_value():
    h = torch.randn(1, 4, 3, requires_grad=True)
    chip = torch.randn(1, 4, 3)
    out = chip_in_the_loop(h, chip)
    assert torch.equal(out, chip)
    (out * torch.arange(3.0)).sum().backward()
    assert torch.equal(h.grad, torch.arange(3.0).expand(1, 4, 3))
    with pytest.raises(ValueError, match="shape"):
        chip_in_the_loop(h, torch.zeros(2, 3))
    with pytest.raises(ValueError, match="NaN"):
        chip_in_the_loop(h, torch.full((1, 4, 3), float("nan")))


@pytest.mark.parametrize("mode", ["segments", "waveform"])
def test_gradient_through_an_ideal_chip_via_the_roles_equals_the_models_own(tmp_path, mode):
    """Both batch modes; the waveform's 300 ns guard brings this (untrained) network back to rest to ~1e-9."""
    model = OscillatorNet(hidden=(8, 6), seed=3)
    bench, link = chip_link(tmp_path, (8, 6), guard=300.0, mode=mode, **ideal(), **FINE)
    data = load_digits_sequences(limit=40)
    x, y = data.x_train[:16, :24], data.y_train[:16]  # 24 steps are enough to compare
    with bench:
        own = grads(model, model.forward_states, x, y)
        via_chip = grads(model, lambda xb: chip_states(model, link, xb), x, y)
    for a, b in zip(own, via_chip):
        torch.testing.assert_close(b, a, rtol=1e-3, atol=1e-6)


def test_the_roles_readout_is_the_chips_batched_physics_on_the_same_weights(tmp_path):
    """Weights through the DAC role, sequences through the AWG, traces through the digitizer
    (benches/chip.toml's instruments) = the chip twin's own batched readout, within noise."""
    spec = load_bench("benches/chip.toml")
    model = OscillatorNet(seed=5)
    seqs = load_digits_sequences(limit=40).x_test[:12].numpy()
    reference = OscillatorChip(**spec.samples["chip"].options)  # the same device (same γ spread) ...
    reference.noise_seed = 99  # ... with its own noise (keyed on this seed and the weights at program())
    reference.set_rail_current(2e-3)
    reference.program(model.chip_program(0))
    with spec.open() as bench:
        power_up(bench, 2e-3, 2.0)
        link = DigitizerLink(bench)
        link.program(model.chip_program(0))
        chip, noise = bench.samples["chip"], spec.samples["chip"].options["readout_noise"]
        chip.readout_noise = reference.readout_noise = 0.0
        clean_roles, clean_twin = link.measure(seqs, 1.0), reference.measure_batch(seqs, 1.0)
        chip.readout_noise = reference.readout_noise = noise
        noisy_roles, noisy_twin = link.measure(seqs, 1.0), reference.measure_batch(seqs, 1.0)
    assert clean_roles.shape == clean_twin.shape == (12, 65, 32)
    # only the 16-bit weight DACs and the 12-bit ADC differ
    np.testing.assert_allclose(clean_roles, clean_twin, atol=2e-3)
    diff = noisy_roles - noisy_twin
    a = -np.expm1(-2 * np.pi * 100e6 * 1e-9)  # the 100 MHz detector's one-pole step at 1 ns
    sigma = noise * np.sqrt(a / (2 - a))  # stationary std of filtered white noise
    assert abs(diff.mean()) < 1e-3 and np.std(diff) == pytest.approx(np.sqrt(2) * sigma, rel=0.1)
    # and what the model reads from them agrees within the noise of one read-out
    h_roles = model.highpass_of_trace(torch.from_numpy(clean_roles).float())
    h_twin = model.highpass_of_trace(torch.from_numpy(clean_twin).float())
    torch.testing.assert_close(h_roles, h_twin, rtol=0, atol=2e-3)


def test_short_chip_in_the_loop_training_lowers_the_loss(tmp_path):
    data = load_digits_sequences(limit=720)
    model = OscillatorNet(hidden=(16, 16), seed=2)
    bench, link = chip_link(tmp_path, (16, 16), gamma_spread=0.1, readout_noise=0.01, detector_bandwidth=1e8)
    with bench:
        trainer = ChipTrainer(model, data, link, TrainConfig(epochs=4), "chip", tmp_path / "ck.pt", eval_limit=60)
        losses = [trainer.run_epoch(e)["loss"] for e in range(4)]
    assert losses[-1] < losses[0] - 0.1
    assert load_checkpoint(tmp_path / "ck.pt")["epoch"] == 3


@pytest.mark.parametrize("mode, fail_after", [
    ("segments", 160 + 60),  # a trigger per sequence: epoch 0 plays 120 + 40, epoch 1's first batch 60 more
    ("waveform", 2 + 1 + 1),  # a trigger per batch waveform: 2 training batches + 1 evaluation, then 1 more
])
def test_a_chip_timeout_mid_epoch_stops_with_a_message_and_keeps_the_last_checkpoint(tmp_path, mode, fail_after):
    data = load_digits_sequences(limit=240)  # 120 train: 2 batches of 60, + 40 evaluated
    model = OscillatorNet(hidden=(6, 6), seed=0)
    # the next trigger gets no answer
    bench, link = chip_link(tmp_path, (6, 6), mode=mode, **ideal(fail_after=fail_after))
    ck = tmp_path / "ck.pt"
    with bench:
        trainer = ChipTrainer(model, data, link, TrainConfig(batch=60), "chip", ck, eval_limit=40)
        trainer.run_epoch(0)
        saved = {k: v.clone() for k, v in load_checkpoint(ck)["model"].state_dict().items()}
        with pytest.raises(ChipStopped, match=r"epoch 1 \(batch 2\).*did not answer.*checkpoint of epoch 0 is kept"):
            trainer.run_epoch(1)
    assert isinstance(ChipStopped("x"), HilError)
    kept = load_checkpoint(ck)
    assert kept["epoch"] == 0
    for k, v in kept["model"].state_dict().items():
        assert torch.equal(v, saved[k])


def test_the_procedure_runs_on_the_chip_bench_and_records_each_epoch(tmp_path):
    from hil.bench import load_bench
    from hil.procedure import run_procedure
    from hil.protocols import get_procedure
    from hil.store import Store

    proc = get_procedure("chip_in_the_loop")
    params = {"epochs": 1, "limit": 240, "checkpoint": str(tmp_path / "ck.pt")}
    with Store(tmp_path / "runs.h5") as store, load_bench("benches/chip.toml").open() as bench:
        run = run_procedure(proc, bench, store, params, progress=False)
        assert run.status == "complete"
        rec = run.record(0)
        assert np.isfinite(rec["loss"]) and 0.0 <= rec["accuracy_chip"] <= 1.0
        assert bench.bias_source.get_current() == pytest.approx(2e-3)


def test_cli_trains_chip_in_the_loop_and_writes_checkpoint_and_plot(tmp_path, capsys):
    from hil.app.cli import main

    out = tmp_path / "model.pt"
    argv = ["train", "oscillator-net", "--bench", "benches/chip.toml", "--chip-in-the-loop", "--epochs", "1",
            "--limit", "240", "--out", str(out), "--quiet"]
    assert main(argv) == 0
    assert out.exists() and out.with_suffix(".png").exists()
    assert "on the chip" in capsys.readouterr().out
    assert load_checkpoint(out)["epoch"] == 0
    # the epochs on a bench are a run of the run engine: provenance (bench text), status, one record per epoch
    from hil.store import Store

    with Store(out.with_suffix(".h5"), "r") as store:
        [run_id] = store.run_ids()
        run = store.run(run_id)
        assert run.status == "complete" and run.completed() == [0]
        assert run.attrs["protocol"] == "train_oscillator_net" and "oscillator-chip" in run.attrs["bench"]
        assert 0.0 <= run.record(0)["accuracy_chip"] <= 1.0
    assert main(argv) == 1  # refuses to overwrite without --resume
    assert "--resume" in capsys.readouterr().err


def test_cli_explains_a_bench_without_the_chips_roles(tmp_path, capsys):
    from hil.app.cli import main

    rc = main(["train", "oscillator-net", "--bench", "benches/sim.toml", "--chip-in-the-loop", "--epochs", "1",
               "--out", str(tmp_path / "m.pt"), "--quiet"])
    assert rc == 1
    err = capsys.readouterr().err
    assert "has no digitizer" in err and "[roles.digitizer]" in err


@pytest.mark.parametrize("readout, missing, needs", [
    ("digitizer", "weights", "pulse_generator, digitizer, weights"),
    ("digitizer", "digitizer", "pulse_generator, digitizer, weights"),
    ("zero_span", "weights", "pulse_generator, spectrum_analyser, weights"),
])
def test_a_bench_without_a_needed_role_is_refused_naming_the_role(tmp_path, readout, missing, needs):
    from hil.protocols import get_procedure

    every = ("pulse_generator", "bias_source", "spectrum_analyser", "digitizer", "weights")
    path = tmp_path / "no.toml"
    path.write_text(chip_bench_text(hidden=(4, 3), roles=[r for r in every if r != missing]))
    with load_bench(path).open() as bench:
        with pytest.raises(HilError, match=rf"has no {missing}\b.*needs the roles {needs}.*\[roles\.{missing}\]"):
            (DigitizerLink(bench) if readout == "digitizer" else ZeroSpanLink(bench, [2e9]))
        proc = get_procedure("chip_in_the_loop")
        with pytest.raises(HilError, match=rf"has no {missing}\b"):
            proc.prepare(bench, proc.resolve({"epochs": 1, "limit": 40, "readout": readout}))
        assert bench.bias_source.get_current() == 0.0  # refused before anything was powered up


def test_readout_names_old_ones_warn_unknown_ones_list_the_choices():
    assert readout_name("digitizer") == "digitizer"
    with pytest.warns(FutureWarning, match="now called 'digitizer'"):
        assert readout_name("batch") == "digitizer"
    with pytest.warns(FutureWarning, match="now called 'zero_span'"):
        assert readout_name("roles") == "zero_span"
    with pytest.raises(HilError, match="one of digitizer, zero_span"):
        readout_name("fast")


def test_a_members_accuracy_on_a_noisy_chip_does_not_depend_on_the_members_measured_before_it(tmp_path):
    """Issue 19: readout and digitizer noise are keyed on the programmed weights, so member k measures the
    same alone or after others; the same weights programmed again repeat their noise, new reads draw new noise."""
    from hil.protocols.chip_in_the_loop import chip_accuracy

    data = load_digits_sequences(limit=60)
    x, y = data.x_test[:20, :24], data.y_test[:20]
    ensemble = OscillatorNet(hidden=(6, 5), ensemble=3, seed=0)
    alone = OscillatorNet(hidden=(6, 5), seed=0)
    alone.load_state_dict({k: v[2:3] for k, v in ensemble.state_dict().items()})
    noisy = dict(readout_noise=0.05, digitizer=dict(noise=0.02, bits=12))
    bench, link = chip_link(tmp_path, (6, 5), **noisy)
    with bench:
        together = chip_accuracy(ensemble, link, x, y)
        by_itself = chip_accuracy(alone, link, x, y)
        link.program(alone.chip_program(0))
        first, again = link.measure(x[:4].numpy(), alone.dt), link.measure(x[:4].numpy(), alone.dt)
        link.program(ensemble.chip_program(0))  # other weights in between ...
        link.measure(x[:4].numpy(), alone.dt)
        link.program(alone.chip_program(0))  # ... then these again: their noise starts over
        repeated = link.measure(x[:4].numpy(), alone.dt)
    assert by_itself == [together[2]]
    np.testing.assert_array_equal(first, repeated)
    assert not np.array_equal(first, again)
