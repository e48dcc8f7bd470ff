"""Train the oscillator network chip-in-the-loop: forward on the bench's chip, backward through the model.

Roles: PulseGenerator (an AWG on the chip's input line), BiasSource (the
chip's bias rail), SpectrumAnalyser (zero-span power traces of the output
oscillators). One record per epoch: training loss, test accuracy measured
on the chip, and the digital model's own test accuracy.

Each batch: the weights are programmed into the chip, the chip runs the
batch and its output oscillators' power traces are read; their high-pass
(the readout the model uses) replaces the model's in the forward pass via
:func:`hil.models.oscillator_net.chip_in_the_loop`, so the loss sees the chip
and the gradient comes from the digital model at the same inputs and
parameters. ``mode=model`` trains on the model alone and only evaluates on
the chip (digital training, then deployment).

Two readout paths (``readout``):

- ``roles`` — what a lab does and what runs against a real chip: for each
  sequence and each output oscillator, upload the sequence to the AWG, arm,
  trigger, take a zero-span trace at that oscillator's frequency (from the
  chip's calibration sheet: ``f0 + f_spacing·index``) and convert dBm to x
  with ``full_scale_dbm``. A zero span lasts at least ``min_sweep_time``
  (1 µs on an X-series), so the trace runs on past the sequence and only
  its first T + 1 points are used. 32 triggers per image: seconds per image
  on the twin, too slow to train on, fine to evaluate.
- ``batch`` — twin only: the chip sample runs the whole batch at once
  through its batched readout (same physics, noise and detection bandwidth,
  no per-point instrument loop). This stands in for a parallel readout
  (one detector per output) and is what training uses on the twin.

Weights reach the chip through the chip's programming interface: on the
twin, ``bench.sample(sample).program``. No real chip driver exists yet; a
bench without that sample gets a clear error.

A chip that stops answering mid-epoch stops the training with a message
naming the epoch and batch; the checkpoint of the last finished epoch is
kept (written atomically after every epoch).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from hil.errors import HilError, InstrumentError
from hil.procedure import Param, Procedure


class ChipStopped(HilError):
    """The chip stopped answering during training; the last good checkpoint is kept."""


# -- links: how a batch of sequences reaches the chip and comes back -------------------

class BatchLink:
    """Twin-only batched readout through the chip sample (fast; for training)."""

    def __init__(self, bench: Any, sample: str = "chip"):
        self.chip = bench.sample(sample)

    def program(self, prog: dict) -> None:
        self.chip.program(prog)

    def measure(self, inputs: np.ndarray, dt: float) -> np.ndarray:
        """Power traces of the output oscillators, x units, (B, T+1, N_out)."""
        return self.chip.measure_batch(inputs, dt)


class RoleLink:
    """The lab's path: AWG plays each sequence, the analyser reads each output in zero span."""

    def __init__(self, bench: Any, frequencies: np.ndarray, rbw: float = 8e6, full_scale_dbm: float = -60.0,
                 volts_per_unit: float = 1.0, sample: str = "chip", min_sweep_time: float = 1e-6):
        self.awg, self.sa = bench.pulse_generator, bench.spectrum_analyser
        self.frequencies = np.asarray(frequencies, dtype=float)
        self.rbw, self.full_scale_dbm, self.volts_per_unit = float(rbw), float(full_scale_dbm), float(volts_per_unit)
        self.min_sweep_time = float(min_sweep_time)  # an X-series zero span lasts at least 1 µs
        try:
            self._program = bench.sample(sample).program
        except HilError as exc:
            raise HilError(f"{exc}. Programming a real chip's weights needs a driver for its weight DACs, "
                           "which does not exist yet; use a twin bench (benches/chip.toml)") from None

    def program(self, prog: dict) -> None:
        self._program(prog)

    def measure(self, inputs: np.ndarray, dt: float) -> np.ndarray:
        inputs = np.asarray(inputs, dtype=float)
        B, T = inputs.shape[:2]
        out = np.empty((B, T + 1, len(self.frequencies)))
        rate = 1e9 / dt  # one AWG sample per input step
        # one trace point per input step; the sweep may have to outlast the sequence
        steps = max(T, int(np.ceil(self.min_sweep_time / (dt * 1e-9) - 1e-9)))
        for b in range(B):
            volts = inputs[b].reshape(T) * self.volts_per_unit
            for k, f in enumerate(self.frequencies):
                self.awg.set_arbitrary_pulse(volts, rate)
                self.awg.arm()
                self.awg.trigger()
                _, dbm = self.sa.zero_span(float(f), self.rbw, steps * dt * 1e-9, steps + 1)
                out[b, :, k] = 10.0 ** ((np.asarray(dbm)[:T + 1] - self.full_scale_dbm) / 10.0)
        return out


def power_up(bench: Any, bias_current: float, compliance: float) -> None:
    """Bias rail on at ``bias_current`` A (ramped), input AWG output on."""
    bias = bench.bias_source
    bias.set_compliance_voltage(compliance)
    bias.output_on()
    bias.ramp_current(bias_current, step=5e-4)
    bench.pulse_generator.output_on()


def chip_states(model, link, xb):
    """The last layer's readout with the chip's values and the model's gradient, (E, B, N).

    Every ensemble member is programmed into the chip in turn and measured on
    the same inputs (one chip, used sequentially).
    """
    import torch

    from hil.models.oscillator_net import chip_in_the_loop

    h_model = model.forward_states(xb)
    inputs = xb.detach().cpu().numpy()
    measured = []
    for member in range(model.ensemble):
        link.program(model.chip_program(member))
        measured.append(model.highpass_of_trace(torch.from_numpy(link.measure(inputs, model.dt)).float()))
    return chip_in_the_loop(h_model, torch.stack(measured))


def chip_accuracy(model, link, x, y, batch: int = 300) -> list[float]:
    """Test accuracy of every ensemble member with the forward pass on the chip (E values)."""
    import torch

    out = []
    with torch.no_grad():
        for member in range(model.ensemble):
            link.program(model.chip_program(member))
            hits = 0
            for i in range(0, len(y), batch):
                traces = link.measure(x[i:i + batch].numpy(), model.dt)
                h = model.highpass_of_trace(torch.from_numpy(traces).float())
                logits = h @ model.w_out[member].transpose(0, 1) + model.b_out[member]
                hits += int((logits.argmax(-1) == y[i:i + batch]).sum())
            out.append(hits / len(y))
    return out


class ChipTrainer:
    """Epoch by epoch training, on the chip in the loop (``mode="chip"``) or on the model alone."""

    def __init__(self, model, data, link, cfg, mode: str = "chip", checkpoint: str | Path | None = None,
                 eval_limit: int = 0):
        import torch

        from hil.models.train import make_optimizer

        if mode not in ("chip", "model"):
            raise HilError(f"mode must be 'chip' or 'model', got {mode!r}")
        if model.ensemble != 1:
            raise HilError("a chip runs one network: build the model with ensemble=1")
        self.model, self.data, self.link, self.cfg, self.mode = model, data, link, cfg, mode
        self.checkpoint = Path(checkpoint) if checkpoint else None
        self.eval_limit = int(eval_limit)
        self.opt = make_optimizer(model, cfg)
        self.history: dict[str, list[float]] = {"loss": [], "accuracy_model": [], "accuracy_chip": []}
        self.next_epoch = 0
        self._torch = torch

    def resume(self) -> bool:
        """Load the checkpoint if there is one; True when it did."""
        from hil.models.train import load_checkpoint

        if self.checkpoint is None or not self.checkpoint.exists():
            return False
        ck = load_checkpoint(self.checkpoint)
        self.model.load_state_dict(ck["model"].state_dict())
        if ck["optimizer"] is not None:
            self.opt.load_state_dict(ck["optimizer"])
        self.history, self.next_epoch = ck["history"], ck["epoch"] + 1
        return True

    def run_epoch(self, epoch: int, on_batch=None) -> dict[str, float]:
        from hil.models.train import accuracy, save_checkpoint, train_epoch

        t0 = time.perf_counter()
        batch_no = [0]

        def states(xb):
            batch_no[0] += 1
            return chip_states(self.model, self.link, xb)

        try:
            loss = train_epoch(self.model, self.opt, self.data.x_train, self.data.y_train, epoch, self.cfg,
                               states_fn=states if self.mode == "chip" else None, on_batch=on_batch)
            n = self.eval_limit or len(self.data.y_test)
            x_test, y_test = self.data.x_test[:n], self.data.y_test[:n]
            acc_model = float(accuracy(self.model, x_test, y_test)[0])
            acc_chip = chip_accuracy(self.model, self.link, x_test, y_test)[0] if self.link is not None else float("nan")
        except (InstrumentError, TimeoutError) as exc:
            kept = (f"the checkpoint of epoch {self.next_epoch - 1} is kept at {self.checkpoint}"
                    if self.checkpoint and self.checkpoint.exists() else "no checkpoint was written yet")
            raise ChipStopped(f"the chip stopped answering in epoch {epoch} (batch {batch_no[0]}): {exc}; "
                              f"training stopped, {kept}") from exc
        rec = {"epoch": epoch, "loss": float(loss[0]), "accuracy_model": acc_model, "accuracy_chip": acc_chip,
               "lr": self.opt.param_groups[0]["lr"], "seconds": time.perf_counter() - t0}
        for key in ("loss", "accuracy_model", "accuracy_chip"):
            self.history[key].append(rec[key])
        self.next_epoch = epoch + 1
        if self.checkpoint is not None:
            save_checkpoint(self.checkpoint, self.model, self.opt, epoch, self.history)
        return rec


def output_frequencies(f0: float, f_spacing: float, first_output: int, n_out: int) -> np.ndarray:
    return f0 + f_spacing * (first_output + np.arange(n_out))


class ChipInTheLoop(Procedure):
    name = "chip_in_the_loop"
    params = {
        "epochs": Param(int, 20, "", "training epochs (one record each)"),
        "mode": Param(str, "chip", "", "'chip': chip-in-the-loop; 'model': train on the model, evaluate on the chip"),
        "readout": Param(str, "batch", "", "'batch' (twin's batched readout) or 'roles' (AWG + zero span; slow)"),
        "sample": Param(str, "chip", "", "the chip sample's name in the bench"),
        "seed": Param(int, 0, "", "initial weights and masks"),
        "density": Param(float, 0.5, "", "connection density of the masks"),
        "lr0": Param(float, 0.149, "", "Adam learning rate at epoch 0"),
        "lr_decay": Param(float, 8.077, "", "lr = lr0 / (epoch / lr_decay + 1)"),
        "batch": Param(int, 120, "", "sequences per gradient step"),
        "dt": Param(float, 1.0, "ns", "time between input points"),
        "bias_current": Param(float, 2.0e-3, "A", "bias rail current (2 I_th = the fixed bias 2γ)"),
        "compliance": Param(float, 2.0, "V", "compliance of the bias source"),
        "eval_limit": Param(int, 0, "", "test sequences evaluated per epoch (0 = all)"),
        "limit": Param(int, 0, "", "digits used, half to train, half to test (0 = all 1797; small for smoke runs)"),
        "checkpoint": Param(str, "", "", "checkpoint file, written after every epoch and resumed from"),
        "f0": Param(float, 2.0e9, "Hz", "calibration sheet: frequency of oscillator 0"),
        "f_spacing": Param(float, 100.0e6, "Hz", "calibration sheet: frequency step between oscillators"),
        "first_output": Param(int, 64, "", "index of the first output oscillator"),
        "rbw": Param(float, 8.0e6, "Hz", "zero-span resolution bandwidth (roles readout)"),
        "full_scale_dbm": Param(float, -60.0, "dBm", "power of an oscillator at x = 1"),
    }

    def plan(self, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        return [{"epoch": e} for e in range(params["epochs"])]

    def prepare(self, bench: Any, params: Mapping[str, Any]) -> None:
        from hil.models.digits import load_digits_sequences
        from hil.models.oscillator_net import OscillatorNet
        from hil.models.train import TrainConfig

        power_up(bench, params["bias_current"], params["compliance"])
        model = OscillatorNet(dt=params["dt"], density=params["density"], seed=params["seed"])
        if params["readout"] == "batch":
            link = BatchLink(bench, params["sample"])
        elif params["readout"] == "roles":
            freqs = output_frequencies(params["f0"], params["f_spacing"], params["first_output"], model.hidden[-1])
            link = RoleLink(bench, freqs, params["rbw"], params["full_scale_dbm"], sample=params["sample"])
        else:
            raise HilError(f"readout must be 'batch' or 'roles', got {params['readout']!r}")
        cfg = TrainConfig(epochs=params["epochs"], batch=params["batch"], lr0=params["lr0"],
                          lr_decay=params["lr_decay"], shuffle_seed=params["seed"])
        data = load_digits_sequences(limit=params["limit"] or None)
        self.trainer = ChipTrainer(model, data, link, cfg, params["mode"],
                                   params["checkpoint"] or None, params["eval_limit"])
        self.trainer.resume()

    def measure(self, bench: Any, point: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
        return self.trainer.run_epoch(point["epoch"])
