"""What ``hil view`` reads from a store: the runs table and the records of the runs on screen.

Never in the writer's way: each tick opens the store read-only (SWMR readers, no
lock), reads a bounded amount — at most ``max_records`` records and about
``budget_s`` of reading, then the rest waits for the next tick — and closes it
again, so the view holds no file between ticks and a writer that starts, resumes
or is killed meanwhile is simply seen at the next tick. A file that cannot be
read is reported (``error``) and tried again every tick; a record that cannot be
read twice in a row is kept as *damaged*, with the store's reason, and the view
goes on with the next one.

Only the store's public API is used: ``Store(path, "r", swmr=True)``,
``run_ids()``, ``run(id).attrs / status / completed() / record(i) / damage``.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import time
import tomllib
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np

log = logging.getLogger("hil.view")

DIAGRAM = "process_diagram"
HISTORY_S = 60.0  # the rate is the slope of (time, points done) over this window
MAX_FOLLOWED = 4  # runs whose records are kept in memory at once (the rest are dropped, LRU)


@dataclass(frozen=True)
class RunRow:
    """One row of the runs table."""

    run_id: str
    protocol: str
    status: str  # the store's status text: complete, running (pid N on HOST), interrupted, failed: why
    done: int
    total: int | None  # points planned, None when the protocol's plan cannot be known
    rate: float | None  # points/s
    eta_s: float | None  # seconds left at that rate
    params: str  # short, one line
    bench: str  # the bench's name
    started: str

    @property
    def progress(self) -> str:
        return f"{self.done} / {self.total if self.total is not None else '?'}"


@dataclass
class Followed:
    """The records of one run read so far: a scalar summary of each, the arrays of the newest one."""

    run_id: str
    protocol: str = ""
    params: dict = field(default_factory=dict)
    bench_text: str = ""
    summaries: list[dict] = field(default_factory=list)  # in reading order; "index", scalars, "damaged"
    latest: Any = None  # the store's Record of the highest index read
    damage: list[str] = field(default_factory=list)  # what the store reports unreadable in this run
    done: int = 0  # committed records in the store at the last tick
    version: int = 0  # bumped whenever something above changes
    _seen: set[int] = field(default_factory=set)
    _failed: dict[int, int] = field(default_factory=dict)
    last_wanted: float = field(default_factory=time.monotonic)

    @property
    def damaged(self) -> list[dict]:
        return [s for s in self.summaries if s.get("damaged")]

    @property
    def backlog(self) -> int:
        return max(self.done - len(self._seen), 0)


def planned_points(protocol: str, params: dict) -> int | None:
    """How many points the run plans: the diagram's grid, or a procedure's plan re-made from the stored params.

    The store does not record the plan's length (see the report of issue 17); None when it cannot be known.
    """
    try:
        if protocol == DIAGRAM:
            return len(params["alphas"]) * len(params["widths"])
        from hil.protocols import PROCEDURES, get_procedure

        if protocol in PROCEDURES:
            proc = get_procedure(protocol)
            return len(proc.plan(proc.resolve(params)))
    except Exception as exc:  # a plan that cannot be re-made is shown as "?", never an error
        log.debug("no plan length for %s: %s", protocol, exc)
    return None


def bench_name(text: str) -> str:
    if not text:
        return ""
    try:
        return str(tomllib.loads(text).get("name", "")) or "(unnamed)"
    except tomllib.TOMLDecodeError:
        return "(not TOML)"


def short_params(params: dict, width: int = 90) -> str:
    parts = []
    for key, value in sorted(params.items()):
        if isinstance(value, list) and len(value) > 3:
            value = f"[{_g(value[0])} … {_g(value[-1])}] ({len(value)})"
        elif isinstance(value, list):
            value = "[" + ", ".join(_g(v) for v in value) + "]"
        else:
            value = _g(value)
        parts.append(f"{key}={value}")
    text = " ".join(parts)
    return text if len(text) <= width else text[: width - 1] + "…"


def _g(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _parse_time(text: str) -> float | None:
    try:
        return _dt.datetime.fromisoformat(text).timestamp()
    except (TypeError, ValueError):
        return None


def scalars_of(record: Any) -> dict[str, Any]:
    """A record's scalars and strings as plain Python values (what the table and the series need)."""
    out: dict[str, Any] = {}
    for key, value in record.attrs.items():
        if isinstance(value, (np.generic,)):
            value = value.item()
        if isinstance(value, (bool, int, float, str)):
            out[key] = value
    return out


class StorePoller:
    """Follows one store for every page of the server; all calls come from the server's one event loop."""

    def __init__(self, path: str | Path, tick_s: float = 0.3, max_records: int = 16, budget_s: float = 0.05,
                 table_every_s: float = 1.0):
        self.path = Path(path)
        self.tick_s, self.max_records, self.budget_s, self.table_every_s = tick_s, max_records, budget_s, table_every_s
        self.rows: list[RunRow] = []
        self.rows_version = 0
        self.error: str | None = None  # why the file cannot be read now (None: it can)
        self.followed: dict[str, Followed] = {}
        self._wanted: set[str] = set()
        self._last_tick = self._last_table = -1e9
        self._history: dict[str, deque] = {}
        self._totals: dict[tuple, int | None] = {}
        self._meta: dict[str, tuple] = {}  # run id → (attrs key, done) of runs that are not running
        self.ticks = 0
        self.tick_time = 0.0  # seconds spent in the last tick

    # -- what the pages ask for ----------------------------------------------------
    def want(self, run_ids: Iterable[str | None]) -> None:
        for r in run_ids:
            if r:
                self._wanted.add(r)
                f = self.followed.get(r)
                if f is not None:
                    f.last_wanted = time.monotonic()

    def follow(self, run_id: str | None) -> Followed | None:
        return self.followed.get(run_id) if run_id else None

    def latest_diagram(self) -> str | None:
        diagrams = [r for r in self.rows if r.protocol == DIAGRAM]
        running = [r for r in diagrams if r.status.startswith("running")]
        pick = (running or diagrams)
        return max(pick, key=lambda r: r.started).run_id if pick else None

    def default_run(self) -> str | None:
        """The run a new page shows first: the newest running one, else the newest."""
        if not self.rows:
            return None
        running = [r for r in self.rows if r.status.startswith("running")]
        return max(running or self.rows, key=lambda r: r.started).run_id

    # -- one tick ---------------------------------------------------------------------
    def tick(self, force: bool = False) -> bool:
        """Read what changed since the last tick (once per ``tick_s`` whatever the number of pages); True if it read."""
        now = time.monotonic()
        if not force and now - self._last_tick < self.tick_s * 0.8:
            return False
        self._last_tick = now
        t0 = time.perf_counter()
        from hil.errors import StoreError
        from hil.store import Store

        try:
            store = Store(self.path, "r", swmr=True)
        except (StoreError, OSError) as exc:
            self._fail(f"cannot read {self.path}: {exc}")
            return True
        try:
            if now - self._last_table >= self.table_every_s or force:
                self._table(store)
                self._last_table = now
            self._records(store, t0)
            self._ok()
        except (StoreError, OSError) as exc:
            self._fail(f"cannot read {self.path}: {exc}")
        finally:
            store.close()
            self.ticks += 1
            self.tick_time = time.perf_counter() - t0
        return True

    def _fail(self, message: str) -> None:
        if message != self.error:
            log.error("%s", message)
        self.error = message

    def _ok(self) -> None:
        if self.error is not None:
            log.info("%s is readable again", self.path)
        self.error = None

    def _table(self, store: Any) -> None:
        from hil.errors import StoreError

        rows = []
        now = time.time()
        for run_id in store.run_ids():
            try:
                run = store.run(run_id)
                attrs = run.attrs
                key = (attrs.get("status"), attrs.get("ended"), attrs.get("started"))
                cached = self._meta.get(run_id)
                if attrs.get("status") == "running":
                    info = run.info()  # the writer's pid and host, and the records committed so far
                    status, done = info.status_text, info.records
                    self._meta.pop(run_id, None)
                else:
                    status = _status_text(attrs)
                    if cached and cached[0] == key:
                        done = cached[1]  # a finished run does not change until its status does
                    else:
                        done = len(run.completed())
                        self._meta[run_id] = (key, done)
                params = attrs.get("params", {})
                protocol = str(attrs.get("protocol", "?"))
                pkey = (protocol, json.dumps(params, sort_keys=True))
                if pkey not in self._totals:
                    self._totals[pkey] = planned_points(protocol, params)
                total = self._totals[pkey]
                rate, eta = self._rate(run_id, attrs, done, total, now)
                rows.append(RunRow(run_id, protocol, status, done, total, rate, eta, short_params(params),
                                   bench_name(str(attrs.get("bench", ""))), str(attrs.get("started", ""))))
            except StoreError as exc:
                rows.append(RunRow(run_id, "?", f"damaged: {exc}", 0, None, None, None, "", "", ""))
        if rows != self.rows:
            self.rows = rows
            self.rows_version += 1

    def _rate(self, run_id: str, attrs: dict, done: int, total: int | None, now: float
              ) -> tuple[float | None, float | None]:
        status = attrs.get("status")
        started, ended = _parse_time(str(attrs.get("started", ""))), _parse_time(str(attrs.get("ended", "")))
        if status != "running":
            self._history.pop(run_id, None)
            if started and ended and ended > started and done:
                return done / (ended - started), None
            return None, None
        hist = self._history.setdefault(run_id, deque())
        hist.append((now, done))
        while len(hist) > 2 and now - hist[0][0] > HISTORY_S:
            hist.popleft()
        t_old, d_old = hist[0]
        if now - t_old >= 2.0 and done > d_old:
            rate = (done - d_old) / (now - t_old)
        elif started and now > started and done:
            rate = done / (now - started)  # until the window fills: the average since the start
        else:
            rate = None
        eta = (total - done) / rate if rate and total is not None and total >= done else None
        return rate, eta

    def _records(self, store: Any, t0: float) -> None:
        from hil.errors import StoreError

        now = time.monotonic()
        for run_id in list(self.followed):  # forget runs no page has asked for lately (bounded memory)
            if run_id not in self._wanted and now - self.followed[run_id].last_wanted > 30:
                del self.followed[run_id]
        wanted, self._wanted = list(self._wanted), set()
        read = 0
        for run_id in wanted:
            f = self.followed.get(run_id)
            if f is None:
                if len(self.followed) >= MAX_FOLLOWED:
                    del self.followed[min(self.followed, key=lambda r: self.followed[r].last_wanted)]
                f = self.followed[run_id] = Followed(run_id)
            f.last_wanted = now
            try:
                run = store.run(run_id)
                if not f.protocol:
                    attrs = run.attrs
                    f.protocol, f.params = str(attrs.get("protocol", "")), dict(attrs.get("params", {}))
                    f.bench_text = str(attrs.get("bench", ""))
                    f.version += 1
                done = run.completed()
            except StoreError as exc:
                if exc.args and f"run {run_id}" not in "".join(f.damage):
                    f.damage.append(str(exc))
                    f.version += 1
                continue
            damage = list(getattr(run, "damage", []) or [])
            if damage != f.damage or len(done) != f.done:
                f.damage, f.done = damage, len(done)
                f.version += 1
            for i in done:
                if read >= self.max_records or time.perf_counter() - t0 > self.budget_s:
                    return
                if i in f._seen:
                    continue
                read += 1
                try:
                    record = run.record(i)
                except StoreError as exc:
                    n = f._failed[i] = f._failed.get(i, 0) + 1
                    if n < 2:
                        continue  # read it again next tick before calling it damaged
                    log.warning("run %s record %d is damaged: %s", run_id, i, exc)
                    f.summaries.append({"index": i, "damaged": str(exc)})
                    f._seen.add(i)
                    f.version += 1
                    continue
                summary = scalars_of(record)
                summary["index"] = i
                f.summaries.append(summary)
                f._seen.add(i)
                if f.latest is None or i >= f.latest.index:
                    f.latest = record
                f.version += 1


def _status_text(attrs: dict) -> str:
    """The store's own wording (``RunInfo.status_text``) for a run that is not running."""
    from hil.store import RunInfo

    return RunInfo("", str(attrs.get("protocol", "")), str(attrs.get("status", "?")), 0, "", "",
                   str(attrs.get("message", ""))).status_text


def downsample(image: np.ndarray, max_side: int = 200) -> np.ndarray:
    """Every k-th pixel so neither side exceeds ``max_side`` (bounded bytes per page update)."""
    k = max(1, -(-max(image.shape) // max_side))
    return np.ascontiguousarray(image[::k, ::k])
