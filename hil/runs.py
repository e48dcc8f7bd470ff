"""The run engine: the one way anything that produces data writes a run.

Procedures on a bench, twin studies (the LLG diagram), dataset generation and
live publishing all call :func:`execute` and get the same guarantees:

- refusals before anything starts: empty work (0 points), an output that is
  not a writable file (``/dev/null``, a directory), a run that cannot fit
  in this machine's memory (the estimate and the limit are named), and a run
  estimated above :data:`CONFIRM_ABOVE_S` without ``yes``;
- provenance, kept by the store: protocol, params, bench text, code version,
  host, start/end, status and its reason, plus (from here) the sha-256 of
  the bench text and of the params and the number of points planned;
- resume that refuses a different protocol, other params (naming which) or
  another bench file (sha-256 of the text; the first lines that differ);
- points computed in process or on any ``concurrent.futures.Executor``
  (a process pool, or a dask cluster's ``client.get_executor()``), records
  written by this process only, as each point (or batch) returns;
- a progress bar, and a final status that says what happened: ``complete``,
  ``failed`` with the exception, or ``interrupted`` with the signal's name.

The engine knows nothing of instruments: bench safety (limits of every point,
outputs off) is the bench's and the procedure runner's (:mod:`hil.procedure`).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import stat
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

from hil.errors import HilError
from hil.signals import held, signal_name

#: Above this estimated duration a run starts only when the user says yes (``--yes``).
CONFIRM_ABOVE_S = 3600.0
#: Batches kept in flight on an executor, per batch being written (bounds memory for huge grids).
IN_FLIGHT = 64

#: A point's work: given indices, yield (index, record) pairs. Must be picklable for process/dask executors.
Compute = Callable[[list[int]], Iterable[tuple[int, Mapping[str, Any]]]]


class EngineError(HilError):
    """A run the engine refuses to start or resume; nothing was created or changed."""


@dataclass(frozen=True)
class Estimate:
    """What a run will take, from its params alone: peak memory in bytes, wall time in s."""

    memory: float = 0.0
    seconds: float = 0.0
    basis: str = ""  # how it was estimated, for the message


# -- refusals before work ---------------------------------------------------------

def machine_memory() -> int:
    """Bytes of memory this process may use: physical memory, or a smaller cgroup limit."""
    limit = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(path).read_text().strip()
        except OSError:
            continue
        if text.isdigit():
            limit = min(limit, int(text))
    return limit


def _bytes(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if abs(n) < 1000 or unit == "PB":
            return f"{n:.3g} {unit}"
        n /= 1000
    return f"{n:.3g} PB"


def _duration(s: float) -> str:
    if s < 120:
        return f"{s:.3g} s"
    if s < 7200:
        return f"{s / 60:.3g} min"
    if s < 2 * 86400:
        return f"{s / 3600:.3g} h"
    return f"{s / 86400:.3g} days"


def check_bounds(estimate: Estimate | None, yes: bool = False, confirm_above: float = CONFIRM_ABOVE_S) -> None:
    """Refuse a run that cannot fit in memory; require ``yes`` for one longer than ``confirm_above`` s."""
    if estimate is None:
        return
    limit = machine_memory()
    basis = f" ({estimate.basis})" if estimate.basis else ""
    if estimate.memory > limit:
        raise EngineError(f"this run needs about {_bytes(estimate.memory)} of memory{basis}; this machine has "
                          f"{_bytes(limit)}. Nothing was started: make it smaller (fewer points per batch, "
                          "a smaller lattice or grid)")
    if estimate.seconds > confirm_above and not yes:
        raise EngineError(f"this run would take about {_duration(estimate.seconds)}{basis}, more than "
                          f"{_duration(confirm_above)}; nothing was started. Pass --yes to run it anyway")


def check_output(path: str | Path) -> Path:
    """``path`` if a run can be written there; refuse up front what would keep nothing.

    Accepted: a path that does not exist yet (in a writable folder), or an
    existing store (the store itself judges its contents). Refused: ``/dev/null``,
    a device, FIFO or socket, something without write permission — a run
    written there would report success and keep nothing.
    """
    path = Path(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        parent = path.parent if str(path.parent) else Path(".")
        existing = next((p for p in [parent, *parent.parents] if p.exists()), Path("."))
        if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
            raise EngineError(f"--out {path}: cannot create it ({existing} is not a writable folder)") from None
        return path
    except OSError as exc:
        raise EngineError(f"--out {path}: cannot use it ({exc.strerror})") from None
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
        raise EngineError(f"--out {path}: not a file or folder (a device, FIFO or socket); "
                          "runs must go to a store, e.g. out/run.h5")
    if not os.access(path, os.R_OK | os.W_OK | (os.X_OK if stat.S_ISDIR(st.st_mode) else 0)):
        raise EngineError(f"--out {path}: no permission to write there")
    return path


def check_points(n_points: int, what: str = "") -> int:
    """``n_points`` if > 0; an empty plan is refused before any run exists."""
    if not isinstance(n_points, int) or n_points <= 0:
        hint = f" ({what})" if what else ""
        raise EngineError(f"nothing to do: the plan has {n_points} points{hint}; give at least one value. "
                          "No run was created")
    return n_points


def preflight(n_points: int, out: str | Path | None = None, *, batch: int = 1, estimate: Estimate | None = None,
              yes: bool = False, empty_hint: str = "") -> None:
    """Every refusal that needs no store: empty work, a bad batch, an unusable output, bounds.

    Call it before opening anything (a store, a bench); :func:`execute` calls it again.
    """
    check_points(n_points, empty_hint)
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise EngineError(f"batch must be a whole number >= 1, got {batch!r}; nothing was started")
    if out is not None:
        check_output(out)
    check_bounds(estimate, yes)


# -- resume -------------------------------------------------------------------------

def digest(text: str) -> str:
    """sha-256 of a text (bench file), for provenance and resume checks."""
    return hashlib.sha256(text.encode()).hexdigest()


def as_stored(params: Mapping[str, Any]) -> dict[str, Any]:
    """Params as the store keeps them (JSON, sorted keys): what resume compares against."""
    return json.loads(json.dumps(dict(params), sort_keys=True, default=str))


def params_digest(params: Mapping[str, Any]) -> str:
    return digest(json.dumps(as_stored(params), sort_keys=True))


def _short(value: Any, width: int = 60) -> str:
    text = json.dumps(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def differences(stored_protocol: str, stored_params: Mapping[str, Any], stored_bench: str,
                protocol: str, params: Mapping[str, Any], bench_text: str) -> list[str]:
    """What differs between a stored run and the one asked for, one line each (empty: same)."""
    out = []
    if stored_protocol != protocol:
        out.append(f"protocol: the run is {stored_protocol!r}, not {protocol!r}")
    now = as_stored(params)
    for key in sorted(set(stored_params) | set(now)):
        if key not in now:
            out.append(f"param {key}: stored {_short(stored_params[key])}, not given now")
        elif key not in stored_params:
            out.append(f"param {key}: not in the stored run, now {_short(now[key])}")
        elif stored_params[key] != now[key]:
            out.append(f"param {key}: stored {_short(stored_params[key])}, now {_short(now[key])}")
    if digest(stored_bench) != digest(bench_text):
        changed = [line for line in difflib.unified_diff(stored_bench.splitlines(), bench_text.splitlines(),
                                                         lineterm="", n=0)
                   if line[:1] in "+-" and not line.startswith(("+++", "---"))]
        shown = "; ".join(changed[:4]) + ("; ..." if len(changed) > 4 else "")
        out.append(f"bench file text differs (sha-256 {digest(stored_bench)[:12]} stored, "
                   f"{digest(bench_text)[:12]} now): {shown}")
    return out


def resumable(store: Any, run_id: str, protocol: str, params: Mapping[str, Any], bench_text: str) -> Any:
    """The stored run ``run_id`` if it was made with this protocol, params and bench text; else refuse, naming what differs."""
    run = store.run(run_id)
    attrs = run.attrs
    diff = differences(str(attrs.get("protocol", "")), attrs.get("params", {}), str(attrs.get("bench", "")),
                       protocol, params, bench_text)
    if diff:
        raise EngineError(f"cannot resume run {run_id!r}: it was made differently — " + "; ".join(diff)
                          + ". Resume with the same bench file and params, or start a new run")
    return run


# -- finishing ------------------------------------------------------------------------

def _finish(run: Any, status: str, message: str = "") -> None:
    """Mark the run, holding signals off; a store without the ``interrupted`` status records ``failed``."""
    from hil.errors import StoreError

    with held():
        try:
            run.finish(status, message)
        except StoreError:
            if status == "complete":
                raise
            run.finish("failed", message)


# -- running --------------------------------------------------------------------------

def _batches(todo: Iterable[int], size: int) -> Iterator[list[int]]:
    batch: list[int] = []
    for i in todo:
        batch.append(i)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _on_executor(executor: Executor, compute: Compute, batches: Iterator[list[int]]) -> Iterator[Iterable]:
    """Results of ``compute`` per batch as they finish, at most :data:`IN_FLIGHT` batches submitted at once."""
    pending: set[Future] = set()
    try:
        for batch in batches:
            pending.add(executor.submit(compute, batch))
            if len(pending) >= IN_FLIGHT:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in done:
                    yield f.result()
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for f in done:
                yield f.result()
    finally:
        for f in pending:
            f.cancel()


def execute(store: Any, protocol: str, params: Mapping[str, Any], n_points: int, compute: Compute, *,
            bench_text: str = "", resume: str | None = None, executor: Executor | None = None, batch: int = 1,
            prepare: Callable[[], None] | None = None, estimate: Estimate | None = None, yes: bool = False,
            progress: bool = True, empty_hint: str = "", run_id: str | None = None) -> Any:
    """Run (or resume) ``n_points`` points of ``protocol`` into ``store``; return the run.

    ``compute(indices)`` yields ``(index, record)`` for the points asked; in
    process it is called once per batch of ``batch`` points and may yield as
    it goes (a bench procedure measures one point at a time), on
    ``executor`` its batches run in parallel. ``prepare()`` runs once,
    after the run exists and before the first point. Refusals (empty work,
    bounds, an unwritable output, a resume that differs) raise
    :class:`EngineError` before a run is created or changed.
    """
    preflight(n_points, store.path, batch=batch, estimate=estimate, yes=yes, empty_hint=empty_hint)
    if resume is not None:
        run = resumable(store, resume, protocol, params, bench_text)
        done = set(run.completed())
        if len(done) >= n_points:  # every record was written before it stopped: it is complete now
            if run.status != "complete":
                _finish(run, "complete")
            return run
        run.finish("running")
    else:
        provenance = {"bench_sha256": digest(bench_text), "params_sha256": params_digest(params),
                      "points": n_points}
        run = store.create_run(protocol, params, bench_text, run_id=run_id, provenance=provenance)
        done = set()
    todo = (i for i in range(n_points) if i not in done)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n_points, initial=len(done), unit="pt", desc=protocol, leave=False)
    if executor is None:
        results: Iterator[Iterable] = (compute(b) for b in _batches(todo, batch))
    else:
        results = _on_executor(executor, compute, _batches(todo, batch))
    try:
        if prepare is not None:
            prepare()
        for pairs in results:
            for i, record in pairs:
                run.write_record(i, record)
                if bar is not None:
                    bar.update(1)
    except KeyboardInterrupt as exc:
        name = signal_name(exc)
        _finish(run, "interrupted", f"interrupted by {name}")
        raise
    except BaseException as exc:
        reason = str(exc) or type(exc).__name__
        _finish(run, "failed", f"{type(exc).__name__}: {reason}")
        raise
    finally:
        results.close()  # cancels batches still queued on an executor
        if bar is not None:
            bar.close()
    _finish(run, "complete")
    return run
