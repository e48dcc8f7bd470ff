"""Real instruments: pymeasure ``Instrument`` subclasses, each filling one role of :mod:`hil.roles`.

A bench file names a driver by dotted path (``hil.drivers.keithley.Keithley6221Bias``);
the names below are also importable from ``hil.drivers`` itself, lazily, so
``import drivers`` does not import pymeasure and PyVISA.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Class name → module, one module per instrument family.
DRIVERS: dict[str, str] = {
    "Keysight81160APulse": "hil.drivers.keysight_81160a",
    "Keysight33500BPulse": "hil.drivers.keysight_33500b",
    "KeysightXSeriesAnalyser": "hil.drivers.keysight_xseries",
    "RohdeSchwarzFSVAnalyser": "hil.drivers.rs_fsv",
    "Keithley6221Bias": "hil.drivers.keithley",
    "Keithley2400Bias": "hil.drivers.keithley",
}

__all__ = sorted(DRIVERS)


def __getattr__(name: str) -> Any:
    try:
        module = DRIVERS[name]
    except KeyError:
        raise AttributeError(f"module 'hil.drivers' has no attribute {name!r}; drivers: {', '.join(__all__)}") from None
    return getattr(importlib.import_module(module), name)
