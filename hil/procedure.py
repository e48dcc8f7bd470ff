"""Procedures (measurement protocols) and the runner that records them.

A procedure plans a list of points and measures one point at a time through
the bench's roles. The runner checks every point of the plan against the
bench's limits before the first command (through the same guards that
check each call, on instruments that receive nothing), then hands the run to
the run engine (:mod:`hil.runs`: provenance, resume checks, refusal of empty
work, progress, complete / failed / interrupted) — so procedures stay a page
of physics.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from hil.errors import HilError, LimitError
from hil.quantities import parse_quantity, parse_values
from hil.runs import Estimate, check_points, execute


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

    def requests(self, point: Mapping[str, Any], params: Mapping[str, Any]) -> Iterable[tuple[str, str, tuple]]:
        """The limited role calls one point makes, as ``(role, method, args)`` (optional).

        The runner checks each against the bench's limits, for every point,
        before anything is sent: ``("bias_source", "set_current", (0.01,))``
        on a 5 mA bench refuses the run and names the point.
        """
        return ()

    def estimate(self, params: Mapping[str, Any]) -> Estimate | None:
        """Memory and time of a run with ``params``, where cheap to say (optional)."""
        return None


class _Silent:
    """An instrument that accepts every call and does nothing: what a guard forwards to in a plan check."""

    def __getattr__(self, name: str):
        return lambda *args, **kwargs: None


def check_requests(requests: Iterable[tuple[str, str, tuple]], limits: Any, where: str = "") -> None:
    """Check ``(role, method, args)`` calls against the bench ``limits`` with the guards' own checks.

    The guards wrap instruments that receive nothing, so nothing is sent;
    the first call out of limits raises :class:`LimitError` (``where`` says which point).
    """
    from hil.guards import GUARDS

    guards: dict[str, Any] = {}
    for role, method, args in requests:
        if role not in guards:
            guards[role] = GUARDS[role](_Silent(), limits, role)
        try:
            getattr(guards[role], method)(*args)
        except LimitError as exc:
            prefix = f"{where} is outside the bench limits: " if where else ""
            raise LimitError(f"{prefix}{exc}. Nothing was sent to any instrument") from None


def check_plan(procedure: Procedure, params: Mapping[str, Any], limits: Any) -> list[dict[str, Any]]:
    """The plan of ``procedure``, every point checked against the bench ``limits``; nothing is sent.

    Empty plans and the first out-of-limit point raise (:class:`LimitError`
    names the point). The checks are the guards' own (:mod:`hil.guards`).
    """
    points = procedure.plan(params)
    empty = [k for k, p in procedure.params.items() if p.type is list and not params.get(k)]
    check_points(len(points), f"{', '.join(f'{k}=[]' for k in empty)}" if empty else procedure.name)
    for i, point in enumerate(points):
        check_requests(procedure.requests(point, params), limits,
                       f"point {i} of {len(points)} ({_describe(point)})")
    return points


def _describe(point: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in point.items())


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
    yes: bool = False,
) -> Any:
    """Run ``procedure`` on an open bench into ``store``; return the run.

    Every point is checked against the bench limits first; an empty plan, an
    out-of-limit point or (on ``resume``) another bench file or other params
    are refused before any run is created and any command is sent. ``resume``
    names an existing run: its finished records are kept and only the missing
    points are measured. An exception marks the run failed with the reason, a
    signal marks it interrupted with the signal's name; either is re-raised
    and records already written stay. Switching outputs off is the bench's
    (``with spec.open() as bench``).
    """
    params = procedure.resolve(params or {})
    points = check_plan(procedure, params, bench.spec.limits)

    def measure(indices: list[int]):
        for i in indices:
            record = dict(points[i])
            record.update(procedure.measure(bench, points[i], params))
            yield i, record

    return execute(store, procedure.name, params, len(points), measure, bench_text=bench.spec.text,
                   resume=resume, batch=len(points), prepare=lambda: procedure.prepare(bench, params),
                   estimate=procedure.estimate(params), yes=yes, progress=progress)
