"""Twin instruments: the roles of hil.roles played by simulated instruments.

Each twin links its setpoints to its readbacks through a sample model (an
LLG skyrmion sample or an oscillator array), and logs every role call it
receives in ``received`` so tests can prove what did — or did not — reach it.
"""

from hil.sim.twins.analyser import SimSpectrumAnalyser
from hil.sim.twins.bias import SimBiasSource
from hil.sim.twins.frames import SimFrameSource
from hil.sim.twins.pulse import SimPulseGenerator

__all__ = ["SimBiasSource", "SimFrameSource", "SimPulseGenerator", "SimSpectrumAnalyser"]
