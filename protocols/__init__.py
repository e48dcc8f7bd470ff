"""Measurement procedures, written against roles only.

``PROCEDURES`` maps a name to ``module:Class`` inside this package; ``hil run
NAME`` looks it up with :func:`get_procedure`. Adding a procedure is one
module and one line. Modules are imported on first use, so listing names
costs no torch import.
"""

from __future__ import annotations

import importlib

from hil.errors import lookup
from hil.procedure import Procedure

PROCEDURES: dict[str, str] = {
    "bench_tour": "bench_tour:BenchTour",
    "bias_sweep": "bias_sweep:BiasSweep",
    "pulse_frames": "pulse_frames:PulseFrames",
    "chip_in_the_loop": "chip_in_the_loop:ChipInTheLoop",
    "device_response": "device_response:DeviceResponse",
}


def get_procedure(name: str) -> Procedure:
    """A fresh instance of the procedure registered as ``name``; unknown names list the known ones."""
    module, _, attr = lookup(PROCEDURES, "procedure", name).partition(":")
    return getattr(importlib.import_module(f"{__name__}.{module}"), attr)()
