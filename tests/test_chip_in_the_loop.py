"""Chip-in-the-loop: the loss sees the chip, the gradient the model; a dead chip stops cleanly."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hil.errors import HilError
from hil.models.digits import load_digits_sequences
from hil.models.oscillator_net import OscillatorNet, chip_in_the_loop
from hil.models.train import TrainConfig, load_checkpoint, nll_loss
from hil.protocols.chip_in_the_loop import ChipStopped, ChipTrainer, chip_states
from hil.sim.chip import OscillatorChip

torch.set_num_threads(1)


class TwinLink:
    """The batched link over a chip object (no bench needed)."""

    def __init__(self, chip):
        self.chip = chip

    def program(self, prog):
        self.chip.program(prog)

    def measure(self, inputs, dt):
        return self.chip.measure_batch(inputs, dt)


def chip_like(hidden, **kw):
    opts = dict(hidden=hidden, gamma_spread=0.0, readout_noise=0.0, detector_bandwidth=1e15)
    opts.update(kw)
    chip = OscillatorChip(**opts)
    chip.set_rail_current(2 * chip.threshold_current)
    return chip


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


def test_gradient_through_an_ideal_chip_equals_the_models_own():
    model = OscillatorNet(hidden=(8, 6), seed=3)
    link = TwinLink(chip_like((8, 6)))
    data = load_digits_sequences(limit=40)
    x, y = data.x_train[:16, :24], data.y_train[:16]  # 24 steps are enough to compare
    own = grads(model, model.forward_states, x, y)
    via_chip = grads(model, lambda xb: chip_states(model, link, xb), x, y)
    for a, b in zip(own, via_chip):
        torch.testing.assert_close(b, a, rtol=1e-3, atol=1e-6)


def test_short_chip_in_the_loop_training_lowers_the_loss(tmp_path):
    data = load_digits_sequences(limit=720)
    model = OscillatorNet(hidden=(16, 16), seed=1)
    chip = chip_like((16, 16), gamma_spread=0.1, readout_noise=0.01, detector_bandwidth=1e8)
    trainer = ChipTrainer(model, data, TwinLink(chip), TrainConfig(epochs=4), "chip", tmp_path / "ck.pt", eval_limit=60)
    losses = [trainer.run_epoch(e)["loss"] for e in range(4)]
    assert losses[-1] < losses[0] - 0.1
    assert load_checkpoint(tmp_path / "ck.pt")["epoch"] == 3


def test_a_chip_timeout_mid_epoch_stops_with_a_message_and_keeps_the_last_checkpoint(tmp_path):
    data = load_digits_sequences(limit=240)  # 120 train: 2 batches of 60, + 1 evaluation call
    model = OscillatorNet(hidden=(6, 6), seed=0)
    chip = chip_like((6, 6), fail_after=3 + 1)  # epoch 0 needs 3 runs; dies in epoch 1's second batch
    ck = tmp_path / "ck.pt"
    trainer = ChipTrainer(model, data, TwinLink(chip), TrainConfig(batch=60), "chip", ck, eval_limit=40)
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
    assert main(argv) == 1  # refuses to overwrite without --resume
    assert "--resume" in capsys.readouterr().err


def test_cli_explains_a_bench_without_a_chip(tmp_path, capsys):
    from hil.app.cli import main

    rc = main(["train", "oscillator-net", "--bench", "benches/sim.toml", "--chip-in-the-loop", "--epochs", "1",
               "--out", str(tmp_path / "m.pt"), "--quiet"])
    assert rc == 1
    assert "no chip sample 'chip'" in capsys.readouterr().err
