"""Chip benches written on the fly: the chip twin and every role chip-in-the-loop uses, with chosen options."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import LIMITS


def inline(options: dict) -> str:
    """A TOML inline table of numbers and lists of numbers."""
    return "{ " + ", ".join(f"{k} = {list(v) if isinstance(v, tuple) else v!r}" for k, v in options.items()) + " }"


def chip_bench_text(hidden=(6, 5), roles=("pulse_generator", "bias_source", "digitizer", "weights"),
                    digitizer: dict | None = None, weights: dict | None = None, **chip) -> str:
    """benches/chip.toml's instruments around an OscillatorChip(hidden, **chip); ``roles`` picks which."""
    twins = {"pulse_generator": ("chip-input-awg", {}), "bias_source": ("chip-bias-source", {}),
             "spectrum_analyser": ("sim-spectrum-analyser", {}), "digitizer": ("chip-digitizer", digitizer or {}),
             "weights": ("chip-weights", weights or {})}
    text = LIMITS + f'\n[samples.chip]\nclass = "oscillator-chip"\noptions = {inline(dict(hidden=hidden, **chip))}\n'
    for role in roles:
        twin, options = twins[role]
        text += f'\n[roles.{role}]\ntwin = "{twin}"\nsample = "chip"\n'
        if options:
            text += f"options = {inline(options)}\n"
    return text


def ideal(**chip) -> dict:
    """Chip options of a chip that is exactly the digital model: no spread, no noise, an instant detector."""
    return dict(dict(gamma_spread=0.0, readout_noise=0.0, detector_bandwidth=1e15), **chip)


def write_chip_bench(tmp_path: Path, name: str = "chip.toml", **kw) -> Path:
    path = tmp_path / name
    path.write_text(chip_bench_text(**kw))
    return path
