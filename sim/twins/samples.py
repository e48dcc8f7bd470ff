"""Sample factories a bench file can name: plain TOML options in, sample models out.

A bench's ``[samples.<name>]`` table calls ``class(**options)``; these
functions turn TOML scalars (with units in the names) into the model objects.
"""

from __future__ import annotations

from hil.sim.llg import LatticeParams, SkyrmionSample
from hil.sim.llg.defaults import DT, SIZE
from hil.sim.llg.units import FS


def skyrmion_sample(size: int = SIZE, mu_s: float = 0.7, J: float = 0.500, D: float = 0.120, K: float = 0.100,
                    periodic: bool = True, alpha: float = 0.36, temperature: float = 0.0, dt_fs: float = DT / FS,
                    seed: int = 0, compile: bool | str = "auto") -> SkyrmionSample:
    """The LLG skyrmion twin: L = ``size``, couplings in meV, μ_s in μ_B, T in K, Heun step in fs.

    ``compile``: True compiles the step at once (small lattices run long traces
    frame by frame, which 'auto' would count as short work for thousands of frames)."""
    params = LatticeParams(L=size, J=J, D=D, K=K, mu_s=mu_s, periodic=periodic)
    return SkyrmionSample(params, alpha=alpha, temperature=temperature, dt=dt_fs * FS, seed=seed,
                          compile=compile)
