"""Training data for the stray-field CNN: random uniformly magnetised ellipses and their B_z.

Everything is in units of the sensor height d (the scale invariance of
:mod:`hil.sim.stray.forward`), so one data set serves every d, M_s and t ≪ d.
Each sample: an ellipse with semi-axes in [a_min, a_max]·d, random centre and
orientation, a tanh edge of width ``edge``·d, and one direction drawn uniformly
on the sphere. Magnetisation and field are computed on a grid ``fine`` times
finer than the 32 × 32 image and block-averaged down, as a pixel of a real
scan averages over its area.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Iterator

import numpy as np

from hil.errors import InputDataError

from .forward import bz_from_magnetisation, scaled_field

PROTOCOL = "stray-field-shapes"


@dataclass(frozen=True)
class ShapeSpec:
    """How the ellipses are drawn; lengths in units of the sensor height d."""

    pixels: int = 32          # image side, pixels
    pixel: float = 0.5        # pixel size / d
    fine: int = 4             # B_z computed on a grid this many times finer
    thickness: float = 0.05   # film thickness / d (t ≪ d)
    a_min: float = 0.5        # smallest semi-axis / d
    a_max: float = 5.0        # largest semi-axis / d
    centre: float = 3.0       # centre drawn uniformly within ±centre·d of the image centre
    edge: float = 0.25        # tanh edge half-width / d

    def __post_init__(self) -> None:
        if not (0 < self.a_min <= self.a_max):
            raise InputDataError(f"need 0 < a_min ≤ a_max, got {self.a_min}, {self.a_max}")
        if self.pixels < 4 or self.fine < 1 or self.pixel <= 0 or self.thickness <= 0 or self.edge <= 0:
            raise InputDataError(f"invalid shape spec {self}")


def ellipse_amplitude(spec: ShapeSpec, semi: tuple[float, float], angle: float, centre: tuple[float, float],
                      fine: int | None = None) -> np.ndarray:
    """|m| of one smoothed ellipse on the (fine) grid, values in [0, 1]."""
    fine = spec.fine if fine is None else fine
    n, h = spec.pixels * fine, spec.pixel / fine
    coord = (np.arange(n) - (n - 1) / 2) * h
    y, x = np.meshgrid(coord - centre[1], coord - centre[0], indexing="ij")
    c, s = np.cos(angle), np.sin(angle)
    u, v = (c * x + s * y) / semi[0], (-s * x + c * y) / semi[1]
    level = np.sqrt(u * u + v * v)
    # first-order signed distance to the boundary: (level − 1) / |∇level|
    grad = np.sqrt((c * u / semi[0] - s * v / semi[1]) ** 2 + (s * u / semi[0] + c * v / semi[1]) ** 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        dist = np.where(level > 0, (level - 1) * level / np.maximum(grad, 1e-12), -min(semi))
    return 0.5 * (1 - np.tanh(dist / spec.edge))


def block_mean(a: np.ndarray, factor: int) -> np.ndarray:
    """Average non-overlapping factor × factor blocks of the last two axes."""
    *lead, ny, nx = a.shape
    return a.reshape(*lead, ny // factor, factor, nx // factor, factor).mean(axis=(-3, -1))


def random_sample(spec: ShapeSpec, rng: np.random.Generator) -> dict:
    """One ellipse: fine magnetisation → (b, amplitude, m_z) on the coarse grid, plus its parameters."""
    semi = tuple(rng.uniform(spec.a_min, spec.a_max, size=2))
    angle = rng.uniform(0, np.pi)
    centre = tuple(rng.uniform(-spec.centre, spec.centre, size=2))
    cos_t = rng.uniform(-1, 1)
    phi = rng.uniform(0, 2 * np.pi)
    sin_t = np.sqrt(1 - cos_t ** 2)
    direction = np.array([sin_t * np.cos(phi), sin_t * np.sin(phi), cos_t])
    amp = ellipse_amplitude(spec, semi, angle, centre)
    m = amp[None] * direction[:, None, None]
    b = sample_field(m, spec)
    return {"bz": b, "amplitude": block_mean(amp, spec.fine), "mz": block_mean(m[2], spec.fine),
            "semi_axes": np.array(semi), "angle": angle, "centre": np.array(centre),
            "theta": float(np.arccos(cos_t)), "phi": phi}


def sample_field(m_fine: np.ndarray, spec: ShapeSpec) -> np.ndarray:
    """Scaled field b (dimensionless) of a fine-grid magnetisation, block-averaged to the image grid."""
    h = spec.pixel / spec.fine
    bz = bz_from_magnetisation(m_fine, pixel=h, height=1.0, thickness=spec.thickness, ms=1.0, pad=2)
    return block_mean(scaled_field(bz, 1.0, spec.thickness, 1.0), spec.fine)


def generate(spec: ShapeSpec, n: int, seed: int = 0, start: int = 0) -> Iterator[dict]:
    """Samples ``start`` … n−1, each from its own seed (so a resumed run draws the same data)."""
    for i in range(start, n):
        yield random_sample(spec, np.random.default_rng([seed, i]))


def estimate(spec: ShapeSpec, n: int, chunk: int):
    """Memory and time of drawing ``n`` samples, ``chunk`` per record, before any is drawn.

    Memory: one record of stacked float64 maps plus one sample's fine grid and
    its padded FFT (about 40 float64 arrays of (2·pixels·fine)²). Time: 15 ms per
    sample at 32 × 32 × 4 (75 s for 5 000 under load, benchmarks/RESULTS.md), scaled with the fine grid.
    """
    from hil.runs import Estimate

    coarse, fine = spec.pixels ** 2, (2 * spec.pixels * spec.fine) ** 2
    memory = max(1, min(chunk, n)) * 3 * coarse * 8 * 2 + 40 * fine * 8
    seconds = n * 0.015 * (spec.pixels * spec.fine / 128) ** 2
    return Estimate(memory=memory, seconds=seconds, basis=f"{n} samples of {spec.pixels}² × {spec.fine}² pixels")


def write_dataset(store, spec: ShapeSpec, n: int, n_train: int, seed: int = 0, chunk: int = 250,
                  progress=None, run_id: str | None = None, resume: str | None = None, yes: bool = False) -> str:
    """Write n samples to a run of an open :class:`hil.store.Store`, ``chunk`` per record; return the run id.

    Through the run engine (:mod:`hil.runs`): sizes bounded before any sample
    is drawn, ``resume`` finishes an interrupted data set (each sample has its
    own seed, so the data are the same), refused with other params. Each
    record holds stacked arrays (bz, amplitude, mz: (chunk, 32, 32) float32;
    semi_axes, centre; angle, theta, phi) and ``split`` ("train" for the
    first ``n_train`` samples, then "val"). ``progress(k)`` is told of every
    ``k`` samples written.
    """
    from hil.runs import execute

    if not (0 < n_train < n):
        raise InputDataError(f"need 0 < n_train < n, got n_train = {n_train}, n = {n}")
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        raise InputDataError(f"chunk must be a whole number >= 1, got {chunk!r}")
    params = dict(asdict(spec), n=n, n_train=n_train, seed=seed, chunk=chunk, units="lengths / d, b = -4 pi d B_z / (mu0 Ms t)")
    records = -(-n // chunk)

    def draw(indices: list[int]):
        for index in indices:
            lo, hi = index * chunk, min(n, (index + 1) * chunk)
            samples = list(generate(spec, hi, seed, start=lo))
            record = {key: np.stack([s[key] for s in samples]) for key in samples[0]}
            record["index"] = np.arange(lo, hi)
            yield index, record
            if progress is not None:
                progress(hi - lo)

    run = execute(store, PROTOCOL, params, records, draw, resume=resume, estimate=estimate(spec, n, chunk), yes=yes,
                  progress=False, run_id=run_id)
    return run.run_id
