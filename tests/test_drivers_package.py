"""The drivers package: every exported driver resolves lazily and satisfies one role."""

from __future__ import annotations

import subprocess
import sys

import pytest

import hil.drivers as drivers
from hil.guards import role_members
from hil.roles import BiasSource, PulseGenerator, SpectrumAnalyser

ROLE_OF = {
    "Keysight81160APulse": PulseGenerator,
    "Keysight33500BPulse": PulseGenerator,
    "KeysightXSeriesAnalyser": SpectrumAnalyser,
    "RohdeSchwarzFSVAnalyser": SpectrumAnalyser,
    "Keithley6221Bias": BiasSource,
    "Keithley2400Bias": BiasSource,
}


def test_every_driver_is_exported_and_has_its_role_methods():
    assert set(drivers.DRIVERS) == set(ROLE_OF)
    for name, role in ROLE_OF.items():
        cls = getattr(drivers, name)
        missing = [m for m in role_members(role) if not callable(getattr(cls, m, None))]
        assert not missing and "shutdown" in role_members(role), f"{name} lacks {missing}"


def test_an_unknown_driver_name_lists_the_known_ones():
    with pytest.raises(AttributeError, match="Keithley6221Bias"):
        drivers.NoSuchDriver  # noqa: B018


def test_importing_drivers_does_not_import_pymeasure():
    code = "import sys, drivers; assert 'pymeasure' not in sys.modules and 'pyvisa' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
