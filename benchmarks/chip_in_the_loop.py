"""Chip-in-the-loop on the chip twin: digital-only deployed vs chip-in-the-loop vs ideal software.

    python benchmarks/chip_in_the_loop.py --seeds 3 --epochs 40 [--finetune 10] [--zero-span-eval 50]

On benches/chip.toml (3 × 32 neurons, 10 % γ spread, readout noise 0.01,
100 MHz detectors into a 12-bit digitizer, 16-bit weight DACs, bias through a
quantising source), everything through the bench's roles:

- ideal:    trained on the digital model, evaluated on the digital model;
- (a):      the same networks deployed on the chip (forward on the chip);
- (b):      trained chip-in-the-loop from the same initial weights for the
            same epochs, evaluated on the chip;
- (c):      optional: (a)'s networks fine-tuned chip-in-the-loop for
            ``--finetune`` more epochs, evaluated on the chip.

Seeds train side by side as an ensemble; each member is programmed into the
one chip in turn. Training and evaluation use the digitizer readout (a power
detector per output, one segment per sequence, the batch in one acquisition);
``--zero-span-eval N`` (old name ``--roles-eval``) also evaluates member 0 of
(a) and (b) through the analyser (AWG + zero span, RBW 8 MHz) on the first N
test images.
Writes benchmarks/results/oscillator_chip_in_the_loop.json.

Studies of issue 16 (the bench as a lab wires it: one AWG waveform and one
digitizer capture per batch, weights through DAC channels):

    python benchmarks/chip_in_the_loop.py roles --seeds 3 --epochs 15 [--bits 8,10,12,16] [--images 300]

trains ``--seeds`` networks in software, then (1) measures images/s through
the roles (DigitizerLink.measure) in process on benches/chip.toml and on
benches/chip-served.toml, and over SCPI on the same small chip through
``hil twins serve`` + benches/chip-over-scpi.toml (real drivers, pyvisa-py);
(2) evaluates the trained networks through the roles on an ideal chip (no
spread, no noise, 32-bit DACs) and on benches/chip.toml against the model's
own accuracy; (3) sweeps the weight DACs' bits on benches/chip.toml.
Writes benchmarks/results/chip_roles.json.

    python benchmarks/chip_in_the_loop.py quant --seeds 3 --epochs 15 --bits 8,10 --finetune 5

deploys the same software networks on benches/chip.toml with a ``bits`` weight
DAC and fine-tunes them chip-in-the-loop through that DAC (the forward pass
sees the quantised weights). Writes benchmarks/results/chip_quant.json.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hil.bench import load_bench  # noqa: E402
from hil.models.digits import load_digits_sequences  # noqa: E402
from hil.models.oscillator_net import OscillatorNet  # noqa: E402
from hil.models.train import TrainConfig, accuracy, make_optimizer, train_epoch  # noqa: E402
from hil.protocols.chip_in_the_loop import (DigitizerLink, ZeroSpanLink, chip_accuracy,  # noqa: E402
                                            chip_states, output_frequencies, power_up)


def summary(values: list[float]) -> dict:
    v = [100 * x for x in values]
    return {"values": v, "median": statistics.median(v), "mean": statistics.fmean(v), "std": statistics.pstdev(v)}


def train(model, data, cfg, link, epochs, first_epoch=0, log=print, label=""):
    opt = make_optimizer(model, cfg)
    t0 = time.perf_counter()
    for epoch in range(first_epoch, first_epoch + epochs):
        states = (lambda xb: chip_states(model, link, xb)) if link is not None else None
        loss = train_epoch(model, opt, data.x_train, data.y_train, epoch, cfg, states_fn=states)
        log(f"  {label} epoch {epoch + 1}: loss median {loss.median():.3f} ({time.perf_counter() - t0:.0f} s)")
    return time.perf_counter() - t0


def with_options(spec, role_or_sample: str, **options):
    """The bench spec with some options of a role (or the chip sample) replaced."""
    import dataclasses

    if role_or_sample == "chip":
        sample = spec.samples["chip"]
        samples = dict(spec.samples, chip=dataclasses.replace(sample, options=dict(sample.options, **options)))
        return dataclasses.replace(spec, samples=samples)
    role = spec.roles[role_or_sample]
    roles = dict(spec.roles, **{role_or_sample: dataclasses.replace(role, options=dict(role.options, **options))})
    return dataclasses.replace(spec, roles=roles)


def images_per_second(spec, model, x, repeats: int = 3, mode: str = "segments") -> dict:
    """Images/s through the roles: program once, then DigitizerLink.measure on ``x`` in batches of 120
    (best of ``repeats``)."""
    from hil.protocols.chip_in_the_loop import chip_shape

    with spec.open() as bench:
        power_up(bench, 2e-3, 2.0)
        link = DigitizerLink(bench, n_out=chip_shape(bench.role("weights"))["hidden"][-1], batch_mode=mode)
        link.program(model.chip_program(0))
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            for i in range(0, len(x), 120):
                link.measure(x[i:i + 120].numpy(), model.dt)
            times.append(time.perf_counter() - t0)
        captures = link.captures // repeats
    best = min(times)
    return {"images": len(x), "seconds_best": best, "seconds_all": times, "images_per_s": len(x) / best,
            "captures_per_pass": captures}



def Served(bench):
    """The twin server of ``bench`` in a subprocess (:class:`hil.app.cli_twins.ServedTwins`)."""
    from hil.app.cli_twins import ServedTwins

    return ServedTwins(bench, cwd=ROOT)


def load_avg() -> str:
    import os

    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def roles_study(argv) -> int:
    p = argparse.ArgumentParser(prog="chip_in_the_loop.py roles")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--bits", default="8,10,12,16")
    p.add_argument("--images", type=int, default=300)
    p.add_argument("--skip-scpi", action="store_true")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    log = lambda m: print(m, flush=True)  # noqa: E731
    out = ROOT / "benchmarks" / "results" / "chip_roles.json"
    res: dict = {"command": "python benchmarks/chip_in_the_loop.py roles " + " ".join(argv),
                 "machine": "2-core CPU VM, no GPU, shared with other sessions", "date": time.strftime("%Y-%m-%d"),
                 "load_start": load_avg(), "seeds": args.seeds, "epochs": args.epochs, "torch": torch.__version__}
    data = load_digits_sequences()
    x = data.x_test[:args.images]
    chip_spec = load_bench(ROOT / "benches" / "chip.toml")
    small_spec = load_bench(ROOT / "benches" / "chip-served.toml")

    # throughput first (an untrained network runs as fast as a trained one)
    res["throughput"] = {}
    small = OscillatorNet(hidden=(4,), seed=0)
    for mode in ("segments", "waveform"):
        res["throughput"][f"in_process_chip_3x32_{mode}"] = images_per_second(chip_spec, OscillatorNet(seed=0), x, mode=mode)
        res["throughput"][f"in_process_chip_1x4_{mode}"] = images_per_second(small_spec, small, x, mode=mode)
    if not args.skip_scpi:
        served = Served(ROOT / "benches" / "chip-served.toml")
        try:
            text = (ROOT / "benches" / "chip-over-scpi.toml").read_text()
            for role, port in (("pulse_generator", 56101), ("bias_source", 56102), ("digitizer", 56103),
                               ("weights", 56104)):
                text = text.replace(f"TCPIP0::127.0.0.1::{port}::SOCKET", served.resources[role])
            path = ROOT / "benchmarks" / "results" / "_chip_over_scpi_bench.toml"
            path.write_text(text)
            for mode in ("segments", "waveform"):
                res["throughput"][f"over_scpi_chip_1x4_{mode}"] = images_per_second(load_bench(path), small, x,
                                                                                    mode=mode)
            path.unlink()
        finally:
            served.stop()
    res["load_after_throughput"] = load_avg()
    log(json.dumps({k: round(v["images_per_s"], 1) for k, v in res["throughput"].items()}))
    out.write_text(json.dumps(res, indent=1))

    # trained networks: the model's own accuracy vs the roles path
    cfg = TrainConfig(epochs=args.epochs)
    software = OscillatorNet(ensemble=args.seeds, seed=0)
    res["seconds_software"] = train(software, data, cfg, None, args.epochs, log=log, label="software")
    res["model_accuracy"] = summary(accuracy(software, data.x_test, data.y_test).tolist())
    ideal = with_options(chip_spec, "chip", gamma_spread=0.0, readout_noise=0.0, detector_bandwidth=1e15)
    ideal = with_options(with_options(ideal, "weights", bits=32), "digitizer", bits=24)
    cases = (("roles_ideal_chip", ideal, "segments", 64.0), ("roles_chip_toml", chip_spec, "segments", 64.0),
             ("roles_ideal_chip_waveform_guard64", ideal, "waveform", 64.0),
             ("roles_ideal_chip_waveform_guard256", ideal, "waveform", 256.0))
    for key, spec, mode, guard in cases:
        with spec.open() as bench:
            power_up(bench, 2e-3, 2.0)
            link = DigitizerLink(bench, batch_mode=mode, guard=guard)
            t0 = time.perf_counter()
            res[key] = summary(chip_accuracy(software, link, data.x_test, data.y_test))
            res[key]["seconds"] = time.perf_counter() - t0
        log(f"{key}: {res[key]['median']:.2f} % (model {res['model_accuracy']['median']:.2f} %)")
        out.write_text(json.dumps(res, indent=1))

    # accuracy vs the weight DACs' bits (deployed digital training), benches/chip.toml otherwise
    res["dac_bits"] = {}
    for bits in (int(b) for b in args.bits.split(",")):
        spec = with_options(chip_spec, "weights", bits=bits)
        with spec.open() as bench:
            power_up(bench, 2e-3, 2.0)
            res["dac_bits"][str(bits)] = summary(chip_accuracy(software, DigitizerLink(bench), data.x_test, data.y_test))
        log(f"{bits} bits: {res['dac_bits'][str(bits)]['median']:.2f} %")
        out.write_text(json.dumps(res, indent=1))
    res["load_end"] = load_avg()
    out.write_text(json.dumps(res, indent=1))
    log(f"wrote {out}")
    return 0


def quant_study(argv) -> int:
    """Training that respects the DAC's quantisation: digital training deployed on a chip with a
    ``bits`` weight DAC, then fine-tuned chip-in-the-loop through that DAC (benches/chip.toml otherwise)."""
    p = argparse.ArgumentParser(prog="chip_in_the_loop.py quant")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--bits", default="8,10")
    p.add_argument("--finetune", type=int, default=5)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    log = lambda m: print(m, flush=True)  # noqa: E731
    out = ROOT / "benchmarks" / "results" / "chip_quant.json"
    res: dict = {"command": "python benchmarks/chip_in_the_loop.py quant " + " ".join(argv),
                 "machine": "2-core CPU VM, no GPU, shared with other sessions", "date": time.strftime("%Y-%m-%d"),
                 "load_start": load_avg(), "seeds": args.seeds, "epochs": args.epochs, "finetune": args.finetune}
    data = load_digits_sequences()
    cfg = TrainConfig(epochs=args.epochs)
    software = OscillatorNet(ensemble=args.seeds, seed=0)
    train(software, data, cfg, None, args.epochs, log=log, label="software")
    res["model_accuracy"] = summary(accuracy(software, data.x_test, data.y_test).tolist())
    chip_spec = load_bench(ROOT / "benches" / "chip.toml")
    for bits in (int(b) for b in args.bits.split(",")):
        with with_options(chip_spec, "weights", bits=bits).open() as bench:
            power_up(bench, 2e-3, 2.0)
            link = DigitizerLink(bench)
            tuned = copy.deepcopy(software)
            entry = {"deployed": summary(chip_accuracy(tuned, link, data.x_test, data.y_test))}
            entry["seconds_finetune"] = train(tuned, data, cfg, link, args.finetune, first_epoch=args.epochs,
                                              log=log, label=f"fine-tune {bits} bits")
            entry["finetuned_on_chip"] = summary(chip_accuracy(tuned, link, data.x_test, data.y_test))
            control = copy.deepcopy(software)  # the same extra epochs in software, then deployed
            train(control, data, cfg, None, args.finetune, first_epoch=args.epochs, log=log, label="control")
            entry["control_software_more_epochs_deployed"] = summary(chip_accuracy(control, link, data.x_test,
                                                                                  data.y_test))
        res[f"bits_{bits}"] = entry
        log(f"{bits} bits: deployed {entry['deployed']['median']:.2f} %, fine-tuned through the DAC "
            f"{entry['finetuned_on_chip']['median']:.2f} %, control (software, same epochs) "
            f"{entry['control_software_more_epochs_deployed']['median']:.2f} %")
        out.write_text(json.dumps(res, indent=1))
    res["load_end"] = load_avg()
    out.write_text(json.dumps(res, indent=1))
    log(f"wrote {out}")
    return 0


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["roles"]:
        return roles_study(argv[1:])
    if argv[:1] == ["quant"]:
        return quant_study(argv[1:])
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--finetune", type=int, default=0)
    p.add_argument("--zero-span-eval", "--roles-eval", dest="zero_span_eval", type=int, default=0)
    p.add_argument("--bench", default=str(ROOT / "benches" / "chip.toml"))
    p.add_argument("--f-cut", type=float, default=None, help="high-pass cut-off in GHz, chip and model (default: the bench's)")
    p.add_argument("--name", default="oscillator_chip_in_the_loop", help="results/<name>.json")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    data = load_digits_sequences()
    cfg = TrainConfig(epochs=args.epochs)
    log = lambda m: print(m, flush=True)  # noqa: E731
    out = ROOT / "benchmarks" / "results" / f"{args.name}.json"
    res: dict = {"command": "python benchmarks/chip_in_the_loop.py " + " ".join(argv),
                 "machine": "2-core CPU, no GPU", "date": time.strftime("%Y-%m-%d"), "seeds": args.seeds,
                 "epochs": args.epochs, "torch": torch.__version__}
    spec = load_bench(args.bench)
    if args.f_cut is not None:
        spec = with_options(spec, "chip", f_cut=args.f_cut)
    f_cut = spec.samples["chip"].options.get("f_cut", 0.045)
    res["load_start"] = load_avg()
    res["bench"] = spec.samples["chip"].options
    res["readout"] = {role: spec.roles[role].options for role in ("digitizer", "weights")}
    with spec.open() as bench:
        power_up(bench, 2e-3, 2.0)
        link = DigitizerLink(bench)
        software = OscillatorNet(ensemble=args.seeds, seed=0, f_cut=f_cut)
        in_loop = copy.deepcopy(software)
        res["seconds_software"] = train(software, data, cfg, None, args.epochs, log=log, label="software")
        res["ideal_software"] = summary(accuracy(software, data.x_test, data.y_test).tolist())
        res["a_digital_deployed_on_chip"] = summary(chip_accuracy(software, link, data.x_test, data.y_test))
        log(f"ideal {res['ideal_software']['median']:.2f} %, (a) deployed {res['a_digital_deployed_on_chip']['median']:.2f} %")
        out.write_text(json.dumps(res, indent=1))
        res["seconds_chip_in_the_loop"] = train(in_loop, data, cfg, link, args.epochs, log=log, label="chip-in-the-loop")
        res["b_chip_in_the_loop_on_chip"] = summary(chip_accuracy(in_loop, link, data.x_test, data.y_test))
        res["b_model_accuracy_of_chip_trained"] = summary(accuracy(in_loop, data.x_test, data.y_test).tolist())
        log(f"(b) chip-in-the-loop on chip {res['b_chip_in_the_loop_on_chip']['median']:.2f} %")
        out.write_text(json.dumps(res, indent=1))
        if args.finetune:
            tuned = copy.deepcopy(software)
            res["seconds_finetune"] = train(tuned, data, cfg, link, args.finetune, first_epoch=args.epochs, log=log, label="fine-tune")
            res["c_finetuned_on_chip"] = summary(chip_accuracy(tuned, link, data.x_test, data.y_test))
            res["finetune_epochs"] = args.finetune
            log(f"(c) fine-tuned on chip {res['c_finetuned_on_chip']['median']:.2f} %")
            out.write_text(json.dumps(res, indent=1))
        if args.zero_span_eval:
            n = args.zero_span_eval
            zero_span = ZeroSpanLink(bench, output_frequencies(2e9, 100e6, 64, 32))
            for key, model in (("a", software), ("b", in_loop)):
                single = OscillatorNet(seed=0, f_cut=f_cut)
                single.load_state_dict({k: v[:1] for k, v in model.state_dict().items()})
                t0 = time.perf_counter()
                res[f"{key}_zero_span_first_{n}"] = 100 * chip_accuracy(single, zero_span, data.x_test[:n], data.y_test[:n])[0]
                res[f"{key}_digitizer_first_{n}"] = 100 * chip_accuracy(single, link, data.x_test[:n], data.y_test[:n])[0]
                res[f"seconds_zero_span_eval_{key}"] = time.perf_counter() - t0
                log(f"({key}) member 0, first {n} test images: zero span {res[f'{key}_zero_span_first_{n}']:.1f} %, "
                    f"digitizer {res[f'{key}_digitizer_first_{n}']:.1f} %")
            out.write_text(json.dumps(res, indent=1))
    res["load_end"] = load_avg()
    out.write_text(json.dumps(res, indent=1))
    log(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
