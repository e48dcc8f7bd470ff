"""The skyrmion process diagram (a twin-only study, not a protocol): sweep (α, t_w) at fixed θ and T on the LLG twin.

Points are batched on the torch device (one :func:`hil.sim.llg.simulate` call per
batch) and batches are spread over any ``concurrent.futures.Executor`` — a
``ProcessPoolExecutor``, or a dask cluster through ``client.get_executor()``.
The sweep runs through the run engine (:mod:`hil.runs`), like every procedure:
its memory and time are estimated from the spec before anything starts, only
the calling process writes the store, one record per point as its batch
returns, so a sweep killed at any moment resumes where it stopped, and a
resume with another spec is refused naming the fields that differ.

Why this study drives the sample twin rather than the roles: α and T are
properties of the simulated sample, which no instrument sets, and the diagram
needs thousands of points batched on one torch device. On a real bench (one
sample, one α) the role-based ``pulse_frames`` procedure sweeps t_w through
the pulse generator and the camera point by point, into the same store.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hil.labels import COLOURS, PHYSICS
from hil.runs import Estimate, execute, preflight
from hil.store import Store
from hil.sim.llg.defaults import DT, FRAMES_15PS, SETTLE, SIZE, T_P
from hil.sim.llg.params import LatticeParams, Pulse
from hil.sim.llg.simulate import simulate
from hil.sim.llg.units import PS

PROTOCOL = "process_diagram"


@dataclass(frozen=True)
class DiagramSpec:
    """One diagram: the grid, the sample, the integration. SI units (s, K), θ in degrees."""

    theta_deg: float = 40.0
    alphas: tuple[float, ...] = (0.36,)
    widths: tuple[float, ...] = (8 * PS, 28 * PS, 40 * PS)
    temperature: float = 0.0
    size: int = SIZE
    mu_s: float = 0.7
    periodic: bool = True
    frame_times: tuple[float, ...] = FRAMES_15PS
    dt: float = DT
    t_p: float = T_P
    settle: float = SETTLE
    max_time: float | None = None
    batch: int = 8
    seed: int = 0
    device: str = "cpu"
    threads: int = 0  # torch threads in each worker; 0 leaves torch's default

    def points(self) -> list[tuple[float, float]]:
        """(α, t_w) in row-major order: index = i_alpha·len(widths) + i_width."""
        return [(a, w) for a in self.alphas for w in self.widths]

    @property
    def n_points(self) -> int:
        return len(self.alphas) * len(self.widths)

    def point(self, index: int) -> tuple[float, float]:
        """(α, t_w) of grid point ``index`` without building the grid."""
        return self.alphas[index // len(self.widths)], self.widths[index % len(self.widths)]

    def estimate(self, workers: int = 1) -> Estimate:
        """Peak memory (all workers) and wall time of the sweep, before anything runs.

        Memory: each worker integrates ``batch`` lattices of L² spins at
        512 B per spin (spins, Heun stages, fields, noise, workspace; measured
        peak 496 B per spin at L = 400, batch 4) plus the frames it returns;
        the calling process holds up to 64 returned batches. Time: at
        1e8 spin-steps/s per worker at T = 0, 4e7 at T > 0 (benchmarks/RESULTS.md, LLG
        throughput under load), integrating at least to the last frame plus
        the settling time.
        """
        spins = self.size ** 2
        frames = len(self.frame_times) * spins * 8
        batch = max(1, min(self.batch, self.n_points))
        per_batch = batch * (spins * 512 + frames)
        held = min(64, -(-self.n_points // batch)) * batch * frames
        span = (max(self.frame_times) if self.frame_times else 0.0) + self.settle
        steps = span / self.dt if self.dt > 0 else 0.0
        rate = 1e8 if self.temperature == 0 else 4e7
        seconds = self.n_points * spins * steps / rate / max(workers, 1)
        return Estimate(memory=per_batch * max(workers, 1) + held, seconds=seconds,
                        basis=f"{self.n_points} points of L = {self.size}, batch {self.batch}, {max(workers, 1)} "
                              f"worker(s), {steps:.3g} steps each")

    def params(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["alphas"], d["widths"], d["frame_times"] = list(self.alphas), list(self.widths), list(self.frame_times)
        return d

    def made(self, run: Any) -> bool:
        """Whether a stored run was made with this spec (its params as the store keeps them: JSON)."""
        return run.attrs["params"] == json.loads(json.dumps(self.params(), sort_keys=True, default=str))


def simulate_points(spec: DiagramSpec, indices: list[int]) -> list[tuple[int, dict[str, Any]]]:
    """Simulate the given grid points as one batch; return (index, record) pairs. Runs in any worker."""
    if spec.threads:
        import torch

        torch.set_num_threads(spec.threads)
    grid = {i: spec.point(i) for i in indices}
    params = LatticeParams(L=spec.size, mu_s=spec.mu_s, periodic=spec.periodic)
    alphas = [grid[i][0] for i in indices]
    pulses = [Pulse.from_degrees(grid[i][1], spec.theta_deg, t_p=spec.t_p) for i in indices]
    batch = simulate(params, alphas, pulses, spec.temperature, spec.frame_times, spec.dt, spec.device,
                     seed=[spec.seed + i for i in indices], settle=spec.settle, max_time=spec.max_time)
    out = []
    for k, i in enumerate(indices):
        out.append((i, {
            "alpha": grid[i][0], "t_w": grid[i][1], "theta_deg": spec.theta_deg, "temperature": spec.temperature,
            "times": batch.times, "frames": batch.frames[k], "Q": batch.Q[k], "M": batch.M[k],
            "energy_meV": batch.energy[k], "label": batch.labels[k], "label_final": bool(batch.label_final[k]),
            "final_Q": float(batch.final_Q[k]), "final_Mz": float(batch.final_M[k][2]),
            "final_time": batch.final_time,
        }))
    return out


def sweep(spec: DiagramSpec, out: str | Path, executor: Executor | None = None, resume: str | None = None,
          progress: bool = True, yes: bool = False, workers: int = 1) -> str:
    """Run (or resume) a diagram into ``out``; return the run id.

    Refused before anything starts (:class:`hil.runs.EngineError`): an empty
    grid, ``batch`` < 1, an output that is not a store, a sweep that cannot
    fit in memory, one over an hour without ``yes`` (``workers``: how many
    processes share the estimate), a resume with another spec.
    """
    estimate = spec.estimate(workers)
    preflight(spec.n_points, out, batch=spec.batch, estimate=estimate, yes=yes, empty_hint="no α or no t_w values")
    with Store(out) as store:
        run = execute(store, PROTOCOL, spec.params(), spec.n_points, functools.partial(simulate_points, spec),
                      resume=resume, executor=executor, batch=spec.batch, estimate=estimate, yes=yes,
                      progress=progress, empty_hint="no α or no t_w values")
        return run.run_id


def plot_diagram(out: str | Path, run_id: str, png: str | Path) -> dict[str, int]:
    """Draw α against t_w, one colour per label; return the count of points per label."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with Store(out, "r") as store:
        run = store.run(run_id)
        spec = run.attrs["params"]
        records = list(run.records())
    counts: dict[str, int] = {}
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for label in PHYSICS:
        colour = COLOURS[label]
        pts = [(r["t_w"] / PS, r["alpha"]) for r in records if r["label"] == label]
        counts[label] = len(pts)
        if pts:
            x, y = zip(*pts)
            ax.scatter(x, y, c=colour, s=40, marker="s", label=f"{label} ({len(pts)})")
    ax.set(xlabel="pulse width t_w (ps)", ylabel="Gilbert damping α (dimensionless)",
           title=f"skyrmion process diagram: θ = {spec['theta_deg']:g}°, T = {spec['temperature']:g} K, "
                 f"L = {spec['size']}")
    ax.legend(title="physics label (points)", fontsize=8, title_fontsize=8, loc="upper left", bbox_to_anchor=(1, 1))
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    plt.close(fig)
    return counts

