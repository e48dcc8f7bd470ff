"""Cross-check the LLG twin against Spirit 2.2.0 (``pip install spirit``).

Spirit counts each pair once, so it gets 2J and 2D (DESIGN.md); the rest
(K, μ_s, B in T, energies in meV) is the same. Checks on an L×L periodic
lattice in a static tilted field B = 0.7 T (0.6, 0, 0.8):

1. the energy of both Bloch helicities of a skyrmion ansatz and of a random
   state (Spirit reports energies in single precision);
2. the spins after n Heun steps of LLG (α = 0.36, T = 0) from the relaxed
   skyrmion, spin by spin, and the wall time of both codes.

Writes benchmarks/results/llg_spirit.json.

    .venv/bin/python benchmarks/llg_spirit.py [--L 30] [--steps 2000] [--dt-fs 1]
"""

from __future__ import annotations

import os
import argparse
import json
import math
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from hil.sim.llg import Integrator, LatticeParams, energy, relaxed_skyrmion, skyrmion_ansatz
from hil.sim.llg.fields import BatchField
from hil.sim.llg.units import FS

RESULTS = Path(os.environ.get("HIL_RESULTS_DIR") or Path(__file__).parent / "results")  # run_all --quick points it elsewhere
FIELD = 0.7 * np.array([0.6, 0.0, 0.8])


def spirit_config(p: LatticeParams) -> str:
    text = f"""
log_output_file 0
log_print 0
log_output_level 0
bravais_lattice sc
n_basis_cells {p.L} {p.L} 1
boundary_conditions {int(p.periodic)} {int(p.periodic)} 0
hamiltonian heisenberg_neighbours
mu_s {p.mu_s}
external_field_magnitude {np.linalg.norm(FIELD)}
external_field_normal {FIELD[0] / np.linalg.norm(FIELD)} 0 {FIELD[2] / np.linalg.norm(FIELD)}
anisotropy_magnitude {p.K}
anisotropy_normal 0 0 1
n_shells_exchange 1
jij {2 * p.J}
n_shells_dmi 1
dij {2 * p.D}
dm_chirality 1
"""
    f = tempfile.NamedTemporaryFile("w", suffix=".cfg", delete=False)
    f.write(text)
    f.close()
    return f.name


def main() -> None:
    from spirit import parameters, simulation, state, system

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--L", type=int, default=30)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--dt-fs", type=float, default=1.0)
    a = ap.parse_args()
    torch.set_num_threads(1)
    p = LatticeParams(L=a.L)
    cfg = spirit_config(p)
    L = a.L

    def load(st, s):
        arr = system.get_spin_directions(st)
        arr[:] = s.reshape(3, -1).T  # Spirit's index is x + L·y, ours [c, y, x]
        system.update_data(st)

    rng = np.random.default_rng(0)
    rand = rng.normal(size=(3, L, L))
    rand /= np.linalg.norm(rand, axis=0)
    states = {"bloch_+pi/2": skyrmion_ansatz(L, 4, helicity=math.pi / 2),
              "bloch_-pi/2": skyrmion_ansatz(L, 4, helicity=-math.pi / 2), "random": rand}
    energies = {}
    with state.State(cfg, quiet=True) as st:
        for name, s in states.items():
            load(st, s)
            e_sp = float(system.get_energy(st))
            e_us = float(energy(s, p, FIELD))
            energies[name] = {"spirit_meV": e_sp, "ours_meV": e_us, "relative_difference": abs(e_sp - e_us) / abs(e_us)}
            print(name, energies[name])

    s0 = relaxed_skyrmion(p)
    with state.State(cfg, quiet=True) as st:
        load(st, s0)
        parameters.llg.set_timestep(st, a.dt_fs * 1e-3)  # ps
        parameters.llg.set_damping(st, 0.36)
        parameters.llg.set_temperature(st, 0.0)
        t0 = time.perf_counter()
        simulation.start(st, simulation.METHOD_LLG, simulation.SOLVER_HEUN, n_iterations=a.steps)
        wall_spirit = time.perf_counter() - t0
        s_sp = np.array(system.get_spin_directions(st)).T.reshape(3, L, L).copy()
    integ = Integrator(p, s0, 0.36, 0.0, BatchField([lambda t: FIELD]), dt=a.dt_fs * FS, compile=False)
    t0 = time.perf_counter()
    integ.advance_to(a.steps * a.dt_fs * FS)
    wall_ours = time.perf_counter() - t0
    ours = integ.spins[0].numpy()
    dyn = {"steps": a.steps, "dt_fs": a.dt_fs, "max_spin_difference": float(np.abs(s_sp - ours).max()),
           "max_spin_change": float(np.abs(ours - s0).max()),
           "spirit_wall_s": round(wall_spirit, 3), "ours_eager_wall_s": round(wall_ours, 3),
           "spirit_spin_steps_per_s": float(f"{a.steps * L * L / wall_spirit:.3g}"),
           "ours_eager_spin_steps_per_s": float(f"{a.steps * L * L / wall_ours:.3g}")}
    print(dyn)
    out = {"what": __doc__.split("\n\n")[1], "machine": f"{platform.node()}, torch {torch.__version__}, "
           "1 thread, Spirit 2.2.0 from PyPI, shared with other jobs", "date": "2026-11-21",
           "L": L, "field_T": FIELD.tolist(), "energies": energies, "dynamics": dyn}
    RESULTS.mkdir(parents=True, exist_ok=True)
    from _record import save  # command, machine, date, load, code version (benchmarks/_record.py)
    save(RESULTS / "llg_spirit.json", out, __file__)


if __name__ == "__main__":
    main()
