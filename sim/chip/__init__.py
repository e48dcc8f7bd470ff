"""The spin-torque oscillator chip twin: a multilayer auto-oscillator network and the
instruments that drive and read it (input AWG, bias rail source; the stock
spectrum-analyser twin reads it)."""

from hil.sim.chip.chip import ChipTimeout, OscillatorChip
from hil.sim.chip.twins import ChipBiasSource, ChipInputAWG

__all__ = ["ChipBiasSource", "ChipInputAWG", "ChipTimeout", "OscillatorChip"]
