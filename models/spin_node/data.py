"""Training traces: read from the HDF5 store, checked once at the boundary.

A trace is one record: a time axis (s), the observed output y and the
inputs u, all sampled together. The model integrates one step per sample,
so the time axis must be finite, strictly increasing and uniform, with the
same spacing in every trace; anything else is refused with what to do.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hil.errors import HilError


class TraceError(HilError):
    """A trace cannot be learned from as it is; the message says how to fix it."""


@dataclass
class Trace:
    """One sampled trace. time (N,) s; y (N,); u (N, m); ``source`` names where it came from."""

    time: np.ndarray
    y: np.ndarray
    u: np.ndarray
    source: str = ""
    units: dict[str, str] = field(default_factory=dict)

    @property
    def interval(self) -> float:
        return float(self.time[1] - self.time[0])


def check_trace(trace: Trace, min_points: int = 3) -> Trace:
    """Canonical float64 arrays, or a :class:`TraceError` naming the fault and the remedy."""
    where = trace.source or "trace"
    t = np.asarray(trace.time, dtype=np.float64).reshape(-1)
    y = np.asarray(trace.y, dtype=np.float64).reshape(-1)
    u = np.asarray(trace.u, dtype=np.float64)
    if u.ndim == 1:
        u = u[:, None]
    if not (len(t) == len(y) == len(u)):
        raise TraceError(f"{where}: time ({len(t)}), output ({len(y)}) and inputs ({len(u)}) differ in length; "
                         "record them on one time axis")
    if len(t) < min_points:
        raise TraceError(f"{where}: {len(t)} samples are too few; need at least {min_points} (window + embedding)")
    for name, a in (("time", t), ("output", y), ("inputs", u)):
        bad = ~np.isfinite(a)
        if bad.any():
            i = int(np.argmax(bad.reshape(len(a), -1).any(axis=1)))
            raise TraceError(f"{where}: {name} has NaN/inf at sample {i} (of {len(a)}); drop or re-measure "
                             "that record (e.g. `hil run ... --resume`), or cut the trace before it")
    dt = np.diff(t)
    if np.any(dt <= 0):
        i = int(np.argmax(dt <= 0))
        raise TraceError(f"{where}: time axis is not increasing at sample {i + 1} "
                         f"(t = {t[i]:.6g} s then {t[i + 1]:.6g} s); sort the samples or remove duplicated "
                         "points (joined sweeps repeat their end point)")
    if np.max(np.abs(dt - dt[0])) > 1e-6 * dt[0]:
        raise TraceError(f"{where}: time axis is not uniform (steps {dt.min():.6g} … {dt.max():.6g} s); "
                         "the model takes one step per sample: resample the trace onto a uniform grid")
    return Trace(t, y, u, trace.source, dict(trace.units))


def check_traces(traces: list[Trace], min_points: int = 3) -> list[Trace]:
    """Every trace checked, with one common sample interval and input count."""
    if not traces:
        raise TraceError("no traces to learn from; record some with `hil run device_response`")
    out = [check_trace(t, min_points) for t in traces]
    dt0, m0 = out[0].interval, out[0].u.shape[1]
    for t in out[1:]:
        if abs(t.interval - dt0) > 1e-6 * dt0:
            raise TraceError(f"{t.source}: sample interval {t.interval:.6g} s differs from {dt0:.6g} s of "
                             f"{out[0].source}; train on traces of one sampling, or resample")
        if t.u.shape[1] != m0:
            raise TraceError(f"{t.source}: {t.u.shape[1]} inputs, {out[0].source} has {m0}")
    return out


def load_traces(path: str | Path, observe: str, inputs: list[str], runs: list[str] | None = None,
                time_key: str = "time") -> list[Trace]:
    """Every complete record of ``runs`` (default: all runs holding the fields) in a store, as traces."""
    from hil.store import Store

    path = Path(path)
    traces = []
    with Store(path, "r") as store:
        run_ids = runs if runs else store.run_ids()
        for run_id in run_ids:
            run = store.run(run_id)
            for rec in run.records():
                missing = [k for k in [time_key, observe, *inputs] if k not in rec.data]
                if missing:
                    if runs:
                        raise TraceError(f"{path}:{run_id}/{rec.index} has no {', '.join(missing)}; it has "
                                         f"{', '.join(sorted(rec.data))}")
                    break  # another protocol's run: skip it
                units = json.loads(rec.attrs.get("units", "{}"))
                traces.append(Trace(rec[time_key], rec[observe], np.stack([rec[k] for k in inputs], axis=1),
                                    f"{path.name}:{run_id}/{rec.index}", units))
    if not traces:
        raise TraceError(f"{path}: no record holds {time_key}, {observe} and {', '.join(inputs)}; "
                         "check --observe / --inputs against `hil runs` and the record fields")
    return traces
