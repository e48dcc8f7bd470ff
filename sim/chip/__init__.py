"""The spin-torque oscillator chip twin: a multilayer auto-oscillator network and the
instruments that drive and read it (input AWG, bias rail source, weight DACs, a
digitizer behind one power detector per output; the stock spectrum-analyser twin
reads it in zero span)."""

from hil.sim.chip.chip import ChipTimeout, OscillatorChip
from hil.sim.chip.digitizer import ChipDigitizer
from hil.sim.chip.twins import ChipBiasSource, ChipInputAWG
from hil.sim.chip.weights import ChipWeights

__all__ = ["ChipBiasSource", "ChipDigitizer", "ChipInputAWG", "ChipTimeout", "ChipWeights", "OscillatorChip"]
