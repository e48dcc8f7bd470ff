"""Procedures (measurement protocols) and the runner that records them.

A procedure plans a list of points and measures one point at a time through
the bench's roles. The runner owns everything else — the HDF5 run and its
provenance, skipping points a resumed run already holds, the progress bar,
marking the run complete or failed — so procedures stay a page of physics.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from hil.errors import HilError, lookup
from hil.quantities import parse_quantity, parse_values


@dataclass(frozen=True)
class Param:
    """A declared procedure parameter: type, default, unit and why it exists.

    Text (``--param``, string defaults) is read through :mod:`hil.quantities`:
    ``float`` is one quantity in ``unit`` (``"2V"``, ``"4.5GHz"``; a bare
    number is refused when ``unit`` is set), ``list`` is values or ranges in
    ``unit`` (``"0:4mA:9"``, ``"8ps,28ps"``) as a list of floats; any other
    type (``int``, ``str``) converts the text itself.
    """

    type: Callable[[str], Any]
    default: Any
    unit: str = ""
    doc: str = ""

    def parse(self, value: Any) -> Any:
        """``value`` as the procedure sees it: text converted, a list of numbers kept as floats."""
        if self.type is list:
            if isinstance(value, str):
                return list(parse_values(value, self.unit))
            return [float(v) for v in value]
        if not isinstance(value, str) or self.type is str:
            return value
        if self.type is float:
            return parse_quantity(value, self.unit)
        return self.type(value)


class Procedure(ABC):
    """Base of every measurement protocol. Subclasses declare ``name`` and ``params``."""

    name: str = ""
    params: dict[str, Param] = {}

    def resolve(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """Defaults filled in, strings converted, unknown names refused."""
        unknown = sorted(set(given) - set(self.params))
        if unknown:
            raise HilError(
                f"procedure {self.name!r} has no parameter {', '.join(unknown)}; "
                f"known: {', '.join(sorted(self.params)) or 'none'}"
            )
        out = {}
        for key, p in self.params.items():
            value = given.get(key, p.default)
            try:
                out[key] = p.parse(value)
            except (TypeError, ValueError) as exc:
                raise HilError(f"parameter {key}={value!r}: {exc}") from None
        return out

    @abstractmethod
    def plan(self, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The points to measure, in order; each becomes one record."""

    def prepare(self, bench: Any, params: Mapping[str, Any]) -> None:
        """Set the bench up once before the first point (optional)."""

    @abstractmethod
    def measure(self, bench: Any, point: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
        """Measure one point through the bench's roles; return the record."""


def parse_assignments(items: Iterable[str]) -> dict[str, str]:
    """``["a=1", "b=x"]`` → ``{"a": "1", "b": "x"}`` with a clear error on a bad item."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise HilError(f"--param expects NAME=VALUE, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def run_procedure(
    procedure: Procedure,
    bench: Any,
    store: Any,
    params: Mapping[str, Any] | None = None,
    resume: str | None = None,
    progress: bool = True,
) -> Any:
    """Run ``procedure`` on an open bench into ``store``; return the run.

    ``resume`` names an existing run: its finished records are kept and only
    the missing points are measured. Any exception marks the run failed with
    the reason and is re-raised; records already written stay.
    """
    params = procedure.resolve(params or {})
    points = procedure.plan(params)
    if resume is not None:
        run = store.run(resume)
        stored = run.attrs["params"]
        if json.loads(json.dumps(params, default=str)) != stored:
            raise HilError(f"run {resume!r} was made with other parameters ({stored}); cannot resume with {params}")
        run.discard_incomplete()
        run.finish("running")
    else:
        run = store.create_run(procedure.name, params, bench.spec.text)
    done = set(run.completed())
    todo = [i for i in range(len(points)) if i not in done]
    try:
        procedure.prepare(bench, params)
        for i in _progress(todo, procedure.name, progress):
            record = dict(points[i])
            record.update(procedure.measure(bench, points[i], params))
            run.write_record(i, record)
    except BaseException as exc:
        reason = str(exc) or type(exc).__name__
        run.finish("failed", f"{type(exc).__name__}: {reason}")
        raise
    run.finish("complete")
    return run


def _progress(items: list[int], label: str, enabled: bool):
    if not enabled:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=label, unit="pt", leave=False)
