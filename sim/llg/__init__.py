"""Atomistic LLG twin of a skyrmion sample, batched in torch (CPU or GPU).

Classical unit spins on an L×L square lattice with exchange J, Bloch DMI D,
uniaxial anisotropy K and a Zeeman field, integrated with Heun steps of the
Landau–Lifshitz equation (optionally with the thermal stochastic field).
Units: meV, T, μ_B, K, s. Start with :func:`simulate` for batches of
processes and :class:`SkyrmionSample` for the bench twin.
"""

from .errors import LLGInputError, SkyrmionUnstableError, UnstableTimeStepError
from .integrator import Integrator, max_time_step
from .labels import LABELS, label_process, summarise_state
from .observables import energy, magnetisation, topological_charge
from .params import LatticeParams, Pulse
from .relax import relaxed_skyrmion, skyrmion_ansatz
from .sample import SkyrmionSample
from .simulate import FRAMES_5PS, FRAMES_15PS, ProcessBatch, simulate

__all__ = [
    "FRAMES_5PS", "FRAMES_15PS", "LABELS", "Integrator", "LLGInputError", "LatticeParams",
    "ProcessBatch", "Pulse", "SkyrmionSample", "SkyrmionUnstableError", "UnstableTimeStepError",
    "energy", "label_process", "magnetisation", "max_time_step", "relaxed_skyrmion",
    "simulate", "skyrmion_ansatz", "summarise_state", "topological_charge",
]
