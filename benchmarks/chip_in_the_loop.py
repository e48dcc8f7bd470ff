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


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--finetune", type=int, default=0)
    p.add_argument("--zero-span-eval", "--roles-eval", dest="zero_span_eval", type=int, default=0)
    p.add_argument("--bench", default=str(ROOT / "benches" / "chip.toml"))
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    data = load_digits_sequences()
    cfg = TrainConfig(epochs=args.epochs)
    log = lambda m: print(m, flush=True)  # noqa: E731
    out = ROOT / "benchmarks" / "results" / "oscillator_chip_in_the_loop.json"
    res: dict = {"command": "python benchmarks/chip_in_the_loop.py " + " ".join(argv if argv is not None else sys.argv[1:]),
                 "machine": "2-core CPU, no GPU", "date": time.strftime("%Y-%m-%d"), "seeds": args.seeds,
                 "epochs": args.epochs, "torch": torch.__version__}
    spec = load_bench(args.bench)
    res["bench"] = spec.samples["chip"].options
    res["readout"] = {role: spec.roles[role].options for role in ("digitizer", "weights")}
    with spec.open() as bench:
        power_up(bench, 2e-3, 2.0)
        link = DigitizerLink(bench)
        software = OscillatorNet(ensemble=args.seeds, seed=0)
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
                single = OscillatorNet(seed=0)
                single.load_state_dict({k: v[:1] for k, v in model.state_dict().items()})
                t0 = time.perf_counter()
                res[f"{key}_zero_span_first_{n}"] = 100 * chip_accuracy(single, zero_span, data.x_test[:n], data.y_test[:n])[0]
                res[f"{key}_digitizer_first_{n}"] = 100 * chip_accuracy(single, link, data.x_test[:n], data.y_test[:n])[0]
                res[f"seconds_zero_span_eval_{key}"] = time.perf_counter() - t0
                log(f"({key}) member 0, first {n} test images: zero span {res[f'{key}_zero_span_first_{n}']:.1f} %, "
                    f"digitizer {res[f'{key}_digitizer_first_{n}']:.1f} %")
            out.write_text(json.dumps(res, indent=1))
    log(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
