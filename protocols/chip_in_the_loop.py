"""Train the oscillator network chip-in-the-loop: forward on the bench's chip, backward through the model.

Roles: PulseGenerator (an AWG on the chip's input line), BiasSource (the
chip's bias rail), Weights (the DAC channels that set the chip's couplings
and biases), and a readout: Digitizer (one fast power detector per output
oscillator, segmented capture) or SpectrumAnalyser (zero span). One record
per epoch: training loss, test accuracy measured on the chip, and the
digital model's own test accuracy.

Each batch: the weights are set through the Weights role and settled, the
AWG plays the batch's sequences and the readout returns the output
oscillators' power traces; their high-pass (the readout the model uses)
replaces the model's in the forward pass via
:func:`hil.models.oscillator_net.chip_in_the_loop`, so the loss sees the chip
and the gradient comes from the digital model at the same inputs and
parameters. ``mode=model`` trains on the model alone and only evaluates on
the chip (digital training, then deployment).

Two readout paths (``readout``), both through roles only, so both run on a
real chip:

- ``digitizer`` (default) — a fast power detector per output oscillator into
  a digitizer; a whole batch is one acquisition (:class:`DigitizerLink`):
  ``batch_mode=segments`` plays each sequence on its own AWG trigger into
  one segment each; ``batch_mode=waveform`` plays the batch as one AWG
  waveform (sequences + ``guard`` ns of zero input) into one record that the
  link cuts back into sequences. Volts to x with the detectors' calibration
  (``detector_volts`` at x = 1); output k sits on digitizer channel
  ``first_channel + k`` (the wiring sheet). How fast a twin computes a
  capture is the twin's business (the chip twin runs the segments as one
  batch, and a long waveform parallel in time, to the sequential result), so
  this is also the fast path for training; the protocol has no other.
- ``zero_span`` — the spectrum analyser reads each output oscillator in zero
  span at its frequency (from the chip's calibration sheet:
  ``f0 + f_spacing·index``), dBm to x with ``full_scale_dbm``; the AWG plays
  each sequence once per output. A zero span lasts at least
  ``min_sweep_time`` (1 µs on an X-series) and responds in ~1/RBW, too slow
  for 1 ns input steps: 32 triggers per image, seconds per image, fine to
  compare, not to train on.

``batch`` and ``roles``, the old names of the two, are still accepted for
one release.

A bench that lacks a role the chosen path needs gets an error naming the
role. A chip that stops answering mid-epoch stops the training with a
message naming the epoch and batch; the checkpoint of the last finished
epoch is kept (written atomically after every epoch).
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from hil.errors import HilError, InstrumentError
from hil.procedure import Param, Procedure


class ChipStopped(HilError):
    """The chip stopped answering during training; the last good checkpoint is kept."""


#: readout name → what it needs of the bench (for the error when a role is missing)
READOUTS = {"digitizer": "pulse_generator, digitizer, weights",
            "zero_span": "pulse_generator, spectrum_analyser, weights"}
#: how a batch is played into one acquisition (DigitizerLink)
BATCH_MODES = ("segments", "waveform")
#: old names of the readouts, accepted for one release
OLD_READOUTS = {"batch": "digitizer", "roles": "zero_span"}


def readout_name(name: str) -> str:
    """The readout's current name; an old name warns, an unknown one raises with the choices."""
    if name in OLD_READOUTS:
        new = OLD_READOUTS[name]
        warnings.warn(f"readout {name!r} is now called {new!r}; the old name goes in the next release",
                      FutureWarning, stacklevel=2)
        return new
    if name not in READOUTS:
        raise HilError(f"readout must be one of {', '.join(READOUTS)}, got {name!r}")
    return name


def _role(bench: Any, name: str, readout: str) -> Any:
    """``bench.role(name)``, or an error naming the missing role and what needs it."""
    try:
        return bench.role(name)
    except HilError as exc:
        raise HilError(f"{exc}. Chip-in-the-loop with the {readout} readout needs the roles "
                       f"{READOUTS[readout]}: add a [roles.{name}] table (see benches/chip.toml)") from None


def program_weights(weights: Any, prog: Mapping[str, Any]) -> None:
    """Set a model's chip program through the Weights role and wait for it to settle.

    ``prog`` is :meth:`OscillatorNet.chip_program`'s: couplings dimensionless,
    biases in 1/ns, which the role takes in 1/s.
    """
    weights.set_weights({"w_ext": list(prog["w_ext"]), "w_int": list(prog["w_int"]),
                         "bias": [np.asarray(b, dtype=float) * 1e9 for b in prog["bias"]]})
    weights.settle()


# -- links: how a batch of sequences reaches the chip and comes back -------------------

class DigitizerLink:
    """The lab's fast path: a whole batch of sequences in one digitizer acquisition.

    Two ways to play the batch (``batch_mode``), both one acquisition and one
    transfer per batch (or per ``awg_points`` of AWG memory):

    - ``segments`` (default): the AWG plays each sequence on its own trigger;
      each trigger (AWG sync → scope EXT TRIG, and the chip's reset input)
      starts one segment of a segmented capture. The chip starts every
      sequence at rest, as the digital model assumes.
    - ``waveform``: the AWG plays the sequences back to back, each followed by
      ``guard`` ns of zero input, as one uploaded waveform on one trigger; the
      digitizer records it in one segment and the link cuts the record back
      into sequences (sequence b starts at sample b·(T + G), T + 1 samples).
      The chip has no reset between sequences here: the guard must let every
      neuron relax to rest. That holds for an untrained network (to 1e-5 in
      64 ns) but NOT for trained ones, whose rest point is typically
      unstable (benchmarks/RESULTS.md, issue 16) — use it only where the
      chip's rest is attracting.

    Timing comes from the digitizer's own time axis: where the instrument
    chose another sample rate than asked (an oscilloscope picks its rate from
    its time base), the record is interpolated onto one sample per input step.
    """

    def __init__(self, bench: Any, n_out: int = 32, first_channel: int = 1, detector_volts: float = 1.0,
                 volts_per_unit: float = 1.0, guard: float = 64.0, awg_points: int = 16384,
                 batch_mode: str = "segments", max_segments: int = 1000):
        self.awg = _role(bench, "pulse_generator", "digitizer")
        self.digitizer = _role(bench, "digitizer", "digitizer")
        self.weights = _role(bench, "weights", "digitizer")
        self.channels = list(range(int(first_channel), int(first_channel) + int(n_out)))
        self.detector_volts, self.volts_per_unit = float(detector_volts), float(volts_per_unit)
        if not guard >= 0 or int(awg_points) < 2:
            raise HilError(f"guard must be >= 0 ns and awg_points >= 2, got {guard}, {awg_points}")
        self.guard, self.awg_points = float(guard), int(awg_points)
        if batch_mode not in BATCH_MODES:
            raise HilError(f"batch_mode must be one of {', '.join(BATCH_MODES)}, got {batch_mode!r}")
        self.batch_mode, self.max_segments = batch_mode, int(max_segments)
        self.captures = 0  # digitizer acquisitions made

    def program(self, prog: dict) -> None:
        program_weights(self.weights, prog)

    def measure(self, inputs: np.ndarray, dt: float) -> np.ndarray:
        """Power traces of the output oscillators, x units, (B, T+1, N_out); dt in ns."""
        inputs = np.asarray(inputs, dtype=float)
        B, T = inputs.shape[:2]
        if T + 1 > self.awg_points:
            raise HilError(f"a sequence of {T} steps does not fit the AWG's {self.awg_points} points")
        out = np.empty((B, T + 1, len(self.channels)))
        if self.batch_mode == "segments":
            for first in range(0, B, self.max_segments):
                chunk = inputs[first:first + self.max_segments].reshape(-1, T)
                out[first:first + len(chunk)] = self._segments(chunk, dt, T)
            return out
        G = int(np.ceil(self.guard / dt - 1e-9))  # guard in whole input steps
        per_capture = max(1, self.awg_points // (T + G))
        for first in range(0, B, per_capture):
            chunk = inputs[first:first + per_capture].reshape(-1, T)
            out[first:first + len(chunk)] = self._capture(chunk, dt, T, G)
        return out

    def _on_grid(self, t: np.ndarray, record: np.ndarray, samples: int, dt: float) -> np.ndarray:
        """record (..., samples') at the instrument's times t → (..., samples) at k·dt (interpolated if needed)."""
        grid = np.arange(samples) * dt * 1e-9
        tol = 1e-3 * dt * 1e-9
        if record.shape[-1] == samples and np.allclose(t[:samples], grid, rtol=0, atol=tol):
            return record
        if t[0] > grid[0] + tol or t[-1] < grid[-1] - tol:
            raise InstrumentError(f"the digitizer recorded {t[0]:.4g} s to {t[-1]:.4g} s; the batch needs "
                                  f"0 to {grid[-1]:.4g} s after the trigger")
        flat = record.reshape(-1, record.shape[-1])
        return np.stack([np.interp(grid, t, row) for row in flat]).reshape(record.shape[:-1] + (samples,))

    def _acquire(self, waves: Sequence[np.ndarray], samples: int, dt: float) -> np.ndarray:
        """One acquisition: each of ``waves`` played on its own AWG trigger into one segment of
        ``samples``; returns x, (segments, channels, samples), on the grid of one sample per input step."""
        rate = 1e9 / dt  # one AWG sample per input step; the digitizer asked for the same
        # x from −0.25 to 1.25 fits the ADC: noise below rest and a little above full power
        self.digitizer.configure(self.channels, rate, samples, len(waves), 1.5 * self.detector_volts,
                                 0.5 * self.detector_volts)
        self.digitizer.arm()
        for wave in waves:
            self.awg.set_arbitrary_pulse(wave * self.volts_per_unit, rate)
            self.awg.arm()
            self.awg.trigger()
        t, volts = self.digitizer.fetch()
        self.captures += 1
        record = self._on_grid(np.asarray(t, dtype=float), np.asarray(volts, dtype=float), samples, dt)
        return record / self.detector_volts

    def _segments(self, seqs: np.ndarray, dt: float, T: int) -> np.ndarray:
        """Each sequence on its own trigger into its own segment: (B, T+1, channels)."""
        return self._acquire(seqs, T + 1, dt).transpose(0, 2, 1)

    def _capture(self, seqs: np.ndarray, dt: float, T: int, G: int) -> np.ndarray:
        """The sequences back to back, ``G`` steps of guard after each, as one waveform into one
        segment, cut back into sequences: (B, T+1, channels)."""
        n, period = len(seqs), T + G
        wave = np.zeros((n, period))
        wave[:, :T] = seqs
        wave = wave.reshape(-1)[:max(n * period, 2)]
        samples = (n - 1) * period + T + 1
        record = self._acquire([wave], samples, dt)[0]  # (channels, samples)
        idx = np.arange(n)[:, None] * period + np.arange(T + 1)[None, :]
        return record[:, idx].transpose(1, 2, 0)


class ZeroSpanLink:
    """The analyser's path: AWG plays each sequence, the analyser reads each output in zero span."""

    def __init__(self, bench: Any, frequencies: np.ndarray, rbw: float = 8e6, full_scale_dbm: float = -60.0,
                 volts_per_unit: float = 1.0, min_sweep_time: float = 1e-6):
        self.awg = _role(bench, "pulse_generator", "zero_span")
        self.sa = _role(bench, "spectrum_analyser", "zero_span")
        self.weights = _role(bench, "weights", "zero_span")
        self.frequencies = np.asarray(frequencies, dtype=float)
        self.rbw, self.full_scale_dbm, self.volts_per_unit = float(rbw), float(full_scale_dbm), float(volts_per_unit)
        self.min_sweep_time = float(min_sweep_time)  # an X-series zero span lasts at least 1 µs

    def program(self, prog: dict) -> None:
        program_weights(self.weights, prog)

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


def chip_shape(weights: Any) -> dict[str, Any]:
    """The network a chip holds, from its Weights role: ``n_in`` and ``hidden`` for OscillatorNet."""
    shapes = weights.shapes
    return {"n_in": int(shapes["w_ext"][0][1]), "hidden": tuple(int(b[0]) for b in shapes["bias"])}


def output_frequencies(f0: float, f_spacing: float, first_output: int, n_out: int) -> np.ndarray:
    return f0 + f_spacing * (first_output + np.arange(n_out))


def make_link(bench: Any, readout: str, n_out: int, settings: Mapping[str, Any]) -> DigitizerLink | ZeroSpanLink:
    """The link of ``readout`` (a current name) with the calibration in ``settings`` (the procedure's
    parameters, or the CLI's): ``first_channel``/``detector_volts`` or ``f0``/``f_spacing``/``first_output``
    /``rbw``/``full_scale_dbm``; missing entries take the procedure's defaults."""
    cal = {k: p.default for k, p in ChipInTheLoop.params.items()}
    cal.update({k: v for k, v in settings.items() if v is not None})
    if readout == "digitizer":
        return DigitizerLink(bench, n_out, cal["first_channel"], cal["detector_volts"], guard=cal["guard"],
                             awg_points=cal["awg_points"], batch_mode=cal["batch_mode"])
    freqs = output_frequencies(cal["f0"], cal["f_spacing"], cal["first_output"], n_out)
    return ZeroSpanLink(bench, freqs, cal["rbw"], cal["full_scale_dbm"])


class ChipInTheLoop(Procedure):
    name = "chip_in_the_loop"
    params = {
        "epochs": Param(int, 20, "", "training epochs (one record each)"),
        "mode": Param(str, "chip", "", "'chip': chip-in-the-loop; 'model': train on the model, evaluate on the chip"),
        "readout": Param(str, "digitizer", "", "'digitizer' (detectors + segmented capture) or 'zero_span' (analyser; slow)"),
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
        "torch_threads": Param(int, 1, "", "torch threads for the model (1: measured 19× faster than torch's default "
                               "on the shared 2-core VM, issue 16)"),
        "f0": Param(float, 2.0e9, "Hz", "calibration sheet: frequency of oscillator 0"),
        "f_spacing": Param(float, 100.0e6, "Hz", "calibration sheet: frequency step between oscillators"),
        "first_output": Param(int, 64, "", "index of the first output oscillator"),
        "first_channel": Param(int, 1, "", "wiring sheet: digitizer channel of the first output's detector"),
        "detector_volts": Param(float, 1.0, "V", "calibration sheet: a detector's output at x = 1 (full power)"),
        "batch_mode": Param(str, "segments", "", "'segments': a trigger and a segment per sequence; 'waveform': the "
                            "batch as one AWG waveform with guard time (only for chips whose rest is attracting)"),
        "guard": Param(float, 64.0, "ns", "batch_mode=waveform: zero input after each sequence (the neurons relax)"),
        "awg_points": Param(int, 16384, "", "AWG waveform memory in points: a batch longer than this takes several captures"),
        "rbw": Param(float, 8.0e6, "Hz", "zero-span resolution bandwidth (zero_span readout)"),
        "full_scale_dbm": Param(float, -60.0, "dBm", "power of an oscillator at x = 1 (zero_span readout)"),
    }

    def plan(self, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        return [{"epoch": e} for e in range(params["epochs"])]

    def prepare(self, bench: Any, params: Mapping[str, Any]) -> None:
        import torch

        from hil.models.digits import load_digits_sequences
        from hil.models.oscillator_net import OscillatorNet
        from hil.models.train import TrainConfig

        torch.set_num_threads(max(1, params["torch_threads"]))
        model = OscillatorNet(dt=params["dt"], density=params["density"], seed=params["seed"],
                              **chip_shape(_role(bench, "weights", readout_name(params["readout"]))))
        link = make_link(bench, readout_name(params["readout"]), model.hidden[-1], params)
        power_up(bench, params["bias_current"], params["compliance"])
        cfg = TrainConfig(epochs=params["epochs"], batch=params["batch"], lr0=params["lr0"],
                          lr_decay=params["lr_decay"], shuffle_seed=params["seed"])
        data = load_digits_sequences(limit=params["limit"] or None)
        self.trainer = ChipTrainer(model, data, link, cfg, params["mode"],
                                   params["checkpoint"] or None, params["eval_limit"])
        self.trainer.resume()

    def measure(self, bench: Any, point: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
        return self.trainer.run_epoch(point["epoch"])
