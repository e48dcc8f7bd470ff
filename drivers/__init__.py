"""Real instruments: pymeasure ``Instrument`` subclasses, each filling one role of :mod:`hil.roles`.

A bench file names a driver by dotted path (``drivers.keithley.Keithley6221Bias``);
the names below are also importable from ``drivers`` itself, lazily, so
``import drivers`` does not import pymeasure and PyVISA.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Class name → module, one module per instrument family.
DRIVERS: dict[str, str] = {
    "Keysight81160APulse": "drivers.keysight_81160a",
    "Keysight33500BPulse": "drivers.keysight_33500b",
    "KeysightXSeriesAnalyser": "drivers.keysight_xseries",
    "RohdeSchwarzFSVAnalyser": "drivers.rs_fsv",
    "Keithley6221Bias": "drivers.keithley",
    "Keithley2400Bias": "drivers.keithley",
}

__all__ = sorted(DRIVERS)


def __getattr__(name: str) -> Any:
    try:
        module = DRIVERS[name]
    except KeyError:
        raise AttributeError(f"module 'drivers' has no attribute {name!r}; drivers: {', '.join(__all__)}") from None
    return getattr(importlib.import_module(module), name)
