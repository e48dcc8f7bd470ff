"""Shared fixtures: bench files written on the fly, and SCPI clients connected to served twins."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

LIMITS = """
[limits]
max_bias_current = 0.005
max_compliance_voltage = 10.0
max_pulse_amplitude = 5.0
"""

OSCILLATOR_BENCH = LIMITS + """
[samples.oscillators]
class = "oscillator-array"
options = { n = 2 }

[roles.bias_source]
twin = "sim-bias-source"
sample = "oscillators"

[roles.spectrum_analyser]
twin = "sim-spectrum-analyser"
sample = "oscillators"
"""


@pytest.fixture
def write_bench(tmp_path: Path):
    """Write TOML text to a bench file and return its path."""

    def write(text: str, name: str = "bench.toml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return path

    return write


@pytest.fixture
def oscillator_bench(write_bench) -> Path:
    return write_bench(OSCILLATOR_BENCH)


#: PyVISA options of a client of a twin served on loopback (pyvisa-py, newline-terminated).
VISA = {"visa_library": "@py", "read_termination": "\n", "write_termination": "\n", "timeout": 5000}


@pytest.fixture
def served():
    """served(client class, dialect, twin, **options) → (client, dialect): a driver or a stock
    pymeasure class connected over loopback SCPI to ``dialect`` fronting ``twin``; ``options`` go to
    the client (over :data:`VISA`). Closed and stopped at the end of the test."""
    from hil.sim.scpi import serve_twins

    opened = []

    def connect(cls, dialect, twin, **options):
        group = serve_twins({"role": (dialect, twin)})
        client = cls(group.resources["role"], **{**VISA, **options})
        opened.append((client, group))
        return client, group.dialect("role")

    yield connect
    for client, group in opened:
        client.adapter.close()
        group.stop()
