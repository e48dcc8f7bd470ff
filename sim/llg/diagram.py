"""The skyrmion process diagram (a twin-only study, not a protocol): sweep (α, t_w) at fixed θ and T on the LLG twin.

Points are batched on the torch device (one :func:`hil.sim.llg.simulate` call per
batch) and batches are spread over any ``concurrent.futures.Executor`` — a
``ProcessPoolExecutor``, or a dask cluster through ``client.get_executor()``.
Only the calling process writes the HDF5 store, one record per point as its
batch returns, so a sweep killed at any moment resumes where it stopped.

Why this study drives the sample twin rather than the roles: α and T are
properties of the simulated sample, which no instrument sets, and the diagram
needs thousands of points batched on one torch device. On a real bench (one
sample, one α) the role-based ``pulse_frames`` procedure sweeps t_w through
the pulse generator and the camera point by point, into the same store.
"""

from __future__ import annotations

import dataclasses
import json
from concurrent.futures import Executor, Future, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator


from hil.errors import HilError
from hil.labels import COLOURS, PHYSICS
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

    def params(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["alphas"], d["widths"], d["frame_times"] = list(self.alphas), list(self.widths), list(self.frame_times)
        return d

    def made(self, run: Any) -> bool:
        """Whether a stored run was made with this spec (its params as the store keeps them: JSON)."""
        return run.attrs["params"] == json.loads(json.dumps(self.params()))


def simulate_points(spec: DiagramSpec, indices: list[int]) -> list[tuple[int, dict[str, Any]]]:
    """Simulate the given grid points as one batch; return (index, record) pairs. Runs in any worker."""
    if spec.threads:
        import torch

        torch.set_num_threads(spec.threads)
    grid = spec.points()
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


def _batches(todo: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(todo), size):
        yield todo[start:start + size]


def sweep(spec: DiagramSpec, out: str | Path, executor: Executor | None = None, resume: str | None = None,
          progress: bool = True) -> str:
    """Run (or resume) a diagram into ``out``; return the run id."""
    with Store(out) as store:
        if resume is None:
            run = store.create_run(PROTOCOL, spec.params(), bench_text="")
        else:
            run = store.run(resume)
            if not spec.made(run):
                raise HilError(f"run {resume!r} was made with another diagram spec; cannot resume it with this one")
            run.discard_incomplete()
            run.finish("running")
        done = set(run.completed())  # read from the store once, not once per point
        todo = [i for i in range(len(spec.points())) if i not in done]
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(spec.points()), initial=len(spec.points()) - len(todo), unit="pt", desc="diagram")
        try:
            if executor is None:
                results = (simulate_points(spec, b) for b in _batches(todo, spec.batch))
            else:
                futures: list[Future] = [executor.submit(simulate_points, spec, b) for b in _batches(todo, spec.batch)]
                results = (f.result() for f in as_completed(futures))
            for pairs in results:
                for i, record in pairs:
                    run.write_record(i, record)
                if bar is not None:
                    bar.update(len(pairs))
        except BaseException as exc:
            run.finish("failed", f"{type(exc).__name__}: {exc}")
            raise
        finally:
            if bar is not None:
                bar.close()
        run.finish("complete")
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
    ax.set(xlabel="pulse width t_w (ps)", ylabel="damping α",
           title=f"θ = {spec['theta_deg']:g}°, T = {spec['temperature']:g} K, L = {spec['size']}")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1, 1))
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    plt.close(fig)
    return counts

