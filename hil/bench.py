"""Bench files: which class plays each role, how to reach it, and the safety limits.

A bench is a TOML file::

    name = "sim"
    [limits]                       # all three required, SI units
    max_bias_current = 0.005       # A
    max_compliance_voltage = 10.0  # V
    max_pulse_amplitude = 5.0      # V
    [samples.skyrmion]             # twins only: the simulated device under test
    class = "llg-sample"
    options = { alpha = 0.36 }
    [roles.bias_source]            # a real instrument ...
    driver = "keithley6221"
    resource = "GPIB0::12::INSTR"
    options = { timeout = 5000 }
    [roles.frame_source]           # ... or a twin of one
    twin = "sim-frame-source"
    sample = "skyrmion"

Drivers, twins and samples are named by their **registered name**
(:mod:`hil.registry`; ``hil bench check --list``), never by import path: a
bench file is shared and untrusted, and nothing in it is imported or called.
The dotted paths of spin-hil's own classes that bench files used before the
registry (``drivers.keithley.Keithley6221Bias``) are still accepted for one
release, translated to their registered name with a deprecation notice.

:func:`load_bench` validates all of it — roles, names, resources, limits,
sample references — and reports every problem at once, before any
instrument is touched. :meth:`BenchSpec.open` then connects, and the
:class:`Bench` it returns is a context manager that switches every output off
and closes every connection on exit, whatever the exit.
"""

from __future__ import annotations

import math
import tomllib
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hil import registry, roles
from hil.errors import BenchError, HilError, InstrumentError
from hil.guards import GUARDS, Guard, Limits, role_members

LIMIT_KEYS = ("max_bias_current", "max_compliance_voltage", "max_pulse_amplitude")
TOP_KEYS = {"name", "description", "limits", "roles", "samples"}
ROLE_KEYS = {"driver", "twin", "resource", "options", "sample", "scpi"}
SAMPLE_KEYS = {"class", "options"}


def shipped_bench(name: str = "sim.toml") -> Path:
    """A bench file that ships with the package (``benches/`` in the repository, ``hil/benches`` in a wheel)."""
    from importlib.resources import files

    return Path(str(files("hil.benches").joinpath(name)))


def default_bench_path() -> Path:
    """The simulated bench used when none is given (``benches/sim.toml``)."""
    return shipped_bench("sim.toml")


@dataclass(frozen=True)
class RoleSpec:
    role: str
    kind: str  # "driver" or "twin"
    name: str  # registered name
    cls: type
    resource: str | None = None
    sample: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    scpi: str | None = None  # twins: the SCPI dialect `hil twins serve` speaks for it


@dataclass(frozen=True)
class SampleSpec:
    name: str
    registered: str  # registered sample name
    cls: type
    options: dict[str, Any] = field(default_factory=dict)


def resolve_name(kind: str, value: Any, key: str, problem, deprecations: list[str]) -> tuple[str, type] | None:
    """The registered name and class that ``value`` names; report a problem (never import) otherwise.

    Returns ``None`` after reporting. An old dotted path of a spin-hil class is
    translated to its registered name with a deprecation notice.
    """
    if not isinstance(value, str) or not value:
        problem(key, f"must be the registered name of a {kind} (see `hil bench check --list`)")
        return None
    name = value
    if name not in registry.names(kind):
        legacy = registry.name_for_legacy_path(kind, value)
        if legacy is None:
            known = ", ".join(registry.names(kind)) or "none installed"
            why = ("bench files name registered entries, not import paths; " if "." in value or ":" in value else "")
            problem(key, f"{value!r} is not a registered {kind}; {why}registered {kind}s: {known}")
            return None
        note = f"{key}: {value!r} is a deprecated import path; write {legacy!r} (its registered name)"
        deprecations.append(note)
        name = legacy
    try:
        return name, registry.load(kind, name)
    except registry.RegistryError as exc:
        problem(key, str(exc))
        return None


def missing_members(cls: type, role: type) -> list[str]:
    """Names the role declares that ``cls`` lacks."""
    return [name for name in role_members(role) if not hasattr(cls, name)]


@dataclass(frozen=True)
class BenchSpec:
    """A validated bench file; nothing has been connected yet."""

    path: Path
    text: str
    name: str
    limits: Limits
    roles: dict[str, RoleSpec]
    samples: dict[str, SampleSpec]
    deprecations: tuple[str, ...] = ()

    def open(self) -> "Bench":
        """Instantiate samples and instruments; on any failure close what was opened."""
        bench = Bench(self)
        try:
            for name, spec in self.samples.items():
                bench.samples[name] = spec.cls(**spec.options)
            for role, spec in self.roles.items():
                bench._raw[role] = self._connect(spec, bench.samples)
                bench.roles[role] = GUARDS[role](bench._raw[role], self.limits, f"{role} ({spec.name})")
        except BaseException as exc:
            bench.close()
            if isinstance(exc, HilError) or not isinstance(exc, Exception):
                raise
            raise InstrumentError(f"{self.path}: could not open the bench: {exc}") from exc
        return bench

    @staticmethod
    def _connect(spec: RoleSpec, samples: dict[str, Any]) -> Any:
        if spec.kind == "driver":
            return spec.cls(spec.resource, **spec.options)
        if spec.sample is not None:
            return spec.cls(sample=samples[spec.sample], **spec.options)
        return spec.cls(**spec.options)


class Bench:
    """Connected instruments behind their role guards. Use as a context manager."""

    def __init__(self, spec: BenchSpec):
        self.spec = spec
        self.roles: dict[str, Guard] = {}
        self.samples: dict[str, Any] = {}
        self._raw: dict[str, Any] = {}

    def role(self, name: str) -> Guard:
        """The guarded instrument playing role ``name``; a clear error if the bench has none."""
        try:
            return self.roles[name]
        except KeyError:
            have = ", ".join(sorted(self.roles)) or "none"
            raise HilError(f"bench {self.spec.name!r} has no {name}; it has: {have}") from None

    def sample(self, name: str) -> Any:
        """A twin's sample (for twin-only sweep axes such as damping or temperature)."""
        try:
            return self.samples[name]
        except KeyError:
            have = ", ".join(sorted(self.samples)) or "none (a real bench)"
            raise HilError(f"bench {self.spec.name!r} has no sample {name!r}; it has: {have}") from None

    pulse_generator = property(lambda self: self.role("pulse_generator"))
    spectrum_analyser = property(lambda self: self.role("spectrum_analyser"))
    bias_source = property(lambda self: self.role("bias_source"))
    frame_source = property(lambda self: self.role("frame_source"))

    #: Seconds one instrument may take to switch off (and read back), and to close, before it is
    #: given up on and the next is made safe; the CLI sets it from ``--shutdown-timeout``.
    shutdown_timeout: float = 10.0

    def close(self) -> list[str]:
        """Switch every output off, read each back, then close every connection; return what failed.

        Each instrument is made safe on its own: one that raises (anything,
        even a KeyboardInterrupt) or hangs past :attr:`shutdown_timeout` never
        keeps the next from being switched off. SIGINT/SIGTERM/SIGHUP arriving
        meanwhile are held and re-delivered afterwards (:func:`hil.signals.held`).
        :attr:`shutdown_report` then says, per instrument, what is known to be
        true: output read back off, or why it could not be confirmed.
        """
        from hil.signals import held

        failures: list[str] = []
        report: list[str] = []
        hung: set[str] = set()
        with held():
            for role, inst in self._raw.items():
                ok, result = _bounded(lambda inst=inst, role=role: _switch_off(inst, role), self.shutdown_timeout)
                if not ok:
                    hung.add(role)
                    failures.append(f"{role}.shutdown: no answer within {self.shutdown_timeout:g} s")
                    report.append(f"{role}: COULD NOT CONFIRM off (shutdown did not finish within "
                                  f"{self.shutdown_timeout:g} s)")
                elif isinstance(result, BaseException):
                    failures.append(f"{role}.shutdown: {result}")
                    report.append(f"{role}: COULD NOT CONFIRM off (shutdown failed: {result})")
                else:
                    state = result[1]
                    if state is True:
                        failures.append(f"{role}: output still on after shutdown")
                    report.append(f"{role}: {_state_text(state)}")
            for role, inst in self._raw.items():
                if role in hung:
                    continue  # its shutdown thread still holds the connection
                ok, result = _bounded(inst.close, self.shutdown_timeout)
                if not ok:
                    failures.append(f"{role}.close: no answer within {self.shutdown_timeout:g} s")
                elif isinstance(result, BaseException):
                    failures.append(f"{role}.close: {result}")
            self.shutdown_report = tuple(report)
            self._raw.clear()
            self.roles.clear()
        return failures  # (a signal held meanwhile is re-delivered as the block ends)

    #: What :meth:`close` found, one line per instrument ("bias_source: output OFF (read back)").
    shutdown_report: tuple[str, ...] = ()

    def __enter__(self) -> "Bench":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        failures = self.close()
        if failures and exc_type is None:
            raise InstrumentError("bench closed with errors: " + "; ".join(failures))


def open_bench(path: str | Path | None = None) -> Bench:
    """Validate and open a bench file (default: the simulated bench)."""
    return load_bench(path).open()


def load_bench(path: str | Path | None = None) -> BenchSpec:
    """Read and validate a bench file; raise :class:`BenchError` listing every problem."""
    path = Path(path) if path is not None else default_bench_path()
    where = str(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise BenchError([(where, "", f"cannot read the file ({exc.strerror})")]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BenchError([(where, "", f"not valid TOML: {exc}")]) from None
    return _validate(path, text, data)


def bench_from_text(text: str, where: str) -> BenchSpec:
    """Validate bench ``text`` kept elsewhere (a stored run's provenance); ``where`` names it in messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BenchError([(where, "", f"not valid TOML: {exc}")]) from None
    return _validate(Path(where), text, data)


def _validate(path: Path, text: str, data: dict) -> BenchSpec:
    where = str(path)
    problems: list[tuple[str, str, str]] = []

    def problem(key: str, reason: str) -> None:
        problems.append((where, key, reason))

    for key in sorted(set(data) - TOP_KEYS):
        problem(key, f"unknown key; expected one of {', '.join(sorted(TOP_KEYS))}")

    limits = _validate_limits(data.get("limits"), problem)
    deprecations: list[str] = []
    samples = _validate_samples(data.get("samples", {}), problem, deprecations)

    role_specs: dict[str, RoleSpec] = {}
    table = data.get("roles")
    if not isinstance(table, dict) or not table:
        problem("roles", "missing: a bench needs at least one [roles.<name>] table")
        table = {}
    for role, entry in table.items():
        declared = list(data["samples"]) if isinstance(data.get("samples"), dict) else []
        spec = _validate_role(role, entry, samples, declared, problem, deprecations)
        if spec is not None:
            role_specs[role] = spec

    if problems:
        raise BenchError(problems)
    assert limits is not None
    for note in deprecations:
        warnings.warn(f"{where}: {note}", FutureWarning, stacklevel=3)  # shown to users by default
    return BenchSpec(path, text, str(data.get("name", path.stem)), limits, role_specs, samples, tuple(deprecations))


def _validate_limits(table: Any, problem) -> Limits | None:
    if not isinstance(table, dict):
        problem("limits", f"missing: a [limits] table with {', '.join(LIMIT_KEYS)} is required")
        return None
    values = {}
    for key in LIMIT_KEYS:
        value = table.get(key)
        if value is None:
            problem(f"limits.{key}", "missing")
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            problem(f"limits.{key}", f"not a number: {value!r}")
        elif value <= 0:
            problem(f"limits.{key}", f"must be > 0, got {value!r}")
        else:
            values[key] = float(value)
    for key in sorted(set(table) - set(LIMIT_KEYS)):
        problem(f"limits.{key}", f"unknown limit; known: {', '.join(LIMIT_KEYS)}")
    return Limits(**values) if len(values) == len(LIMIT_KEYS) else None


def _validate_samples(table: Any, problem, deprecations: list[str]) -> dict[str, SampleSpec]:
    samples: dict[str, SampleSpec] = {}
    if not isinstance(table, dict):
        problem("samples", "must be a table of [samples.<name>]")
        return samples
    for name, entry in table.items():
        key = f"samples.{name}"
        if not isinstance(entry, dict):
            problem(key, "must be a table")
            continue
        for extra in sorted(set(entry) - SAMPLE_KEYS):
            problem(f"{key}.{extra}", f"unknown key; expected {', '.join(sorted(SAMPLE_KEYS))}")
        options = entry.get("options", {})
        if not isinstance(options, dict):
            problem(f"{key}.options", "must be a table")
            options = {}
        if "class" not in entry:
            problem(f"{key}.class", "missing: the registered name of the sample model, e.g. 'llg-sample'")
            continue
        found = resolve_name("sample", entry["class"], f"{key}.class", problem, deprecations)
        if found is not None:
            samples[name] = SampleSpec(name, found[0], found[1], dict(options))
    return samples


def _validate_role(role: str, entry: Any, samples: dict, declared_samples: list[str], problem,
                   deprecations: list[str]) -> RoleSpec | None:
    key = f"roles.{role}"
    if role not in roles.ROLES:
        problem(key, f"unknown role; known roles: {', '.join(roles.ROLES)}")
        return None
    if not isinstance(entry, dict):
        problem(key, "must be a table")
        return None
    for extra in sorted(set(entry) - ROLE_KEYS):
        problem(f"{key}.{extra}", f"unknown key; expected {', '.join(sorted(ROLE_KEYS))}")
    kinds = [k for k in ("driver", "twin") if k in entry]
    if len(kinds) != 1:
        problem(key, "needs exactly one of 'driver' (a real instrument) or 'twin' (a simulated one)")
        return None
    kind = kinds[0]
    options = entry.get("options", {})
    if not isinstance(options, dict):
        problem(f"{key}.options", "must be a table")
        options = {}
    resource = entry.get("resource")
    sample = entry.get("sample")
    ok = True
    if kind == "driver":
        if not isinstance(resource, str) or not resource.strip():
            problem(f"{key}.resource", "missing: a driver needs its VISA resource, e.g. 'TCPIP0::192.168.0.12::5025::SOCKET'")
            ok = False
        for twin_only in ("sample", "scpi"):
            if twin_only in entry:
                problem(f"{key}.{twin_only}", "only a twin has a simulated sample or a served SCPI dialect")
                ok = False
    elif sample is not None and sample not in samples:
        if sample not in declared_samples:
            problem(f"{key}.sample", f"no sample {sample!r}; defined: {', '.join(declared_samples) or 'none'}")
        ok = False
    found = resolve_name(kind, entry[kind], f"{key}.{kind}", problem, deprecations)
    if found is None:
        return None
    name, cls = found
    missing = missing_members(cls, roles.ROLES[role])
    if missing:
        problem(f"{key}.{kind}", f"{name} does not satisfy role {roles.ROLES[role].__name__}: lacks {', '.join(missing)}")
        return None
    if not ok:
        return None
    return RoleSpec(role, kind, name, cls, resource, sample, dict(options), entry.get("scpi"))


#: Roles whose instruments source nothing: shutting them down has no output to confirm.
NO_OUTPUT_ROLES = frozenset({"spectrum_analyser", "frame_source", "digitizer"})
_NO_OUTPUT = "no output"


def _output_state(inst: Any) -> bool | None | Exception:
    """The output state read back from the instrument: True/False; ``None`` if it has no way to
    report it; the exception if the read-back itself failed.

    Roles carry no read-back of their own, so this asks what the shipped
    drivers and twins offer: pymeasure's ``source_enabled`` (a Keithley's
    ``OUTP?``), a generator channel's ``output`` (``OUTP1?``), a twin's
    ``output`` flag. It is read twice and the second answer kept: a signal
    that interrupted a query mid-run can leave that query's reply unread on
    the connection, so the first answer may be stale; the second always
    answers a question asked after the off command.
    """
    for path in ("source_enabled", "output_channel.output", "output"):
        def read(path=path) -> Any:
            obj: Any = inst
            for part in path.split("."):
                obj = getattr(obj, part)
            return obj

        try:
            read()
        except AttributeError:
            continue
        except Exception:  # a stale or garbled first reply: the second read decides
            pass
        try:
            value = read()
        except Exception as exc:
            return exc
        if isinstance(value, (bool, int)):
            return bool(value)
        return ValueError(f"read back {value!r}, not an on/off state")
    return None


def _switch_off(inst: Any, role: str):
    """Shutdown, then the read-back (run inside :func:`_bounded`)."""
    inst.shutdown()
    return ("read back", _NO_OUTPUT if role in NO_OUTPUT_ROLES else _output_state(inst))


def _state_text(state) -> str:
    if state is _NO_OUTPUT:
        return "no output to switch off; shut down"
    if state is False:
        return "output OFF (read back)"
    if state is True:
        return "output STILL ON (read back after the off command)"
    if isinstance(state, Exception):
        return f"off command sent; COULD NOT CONFIRM (the read-back failed: {type(state).__name__}: {state})"
    return "off command sent; COULD NOT CONFIRM (this instrument cannot read its output state back)"


def _bounded(fn, timeout: float) -> tuple[bool, Any]:
    """Run ``fn`` in a daemon thread for at most ``timeout`` s: (finished, its result or exception).

    A hung instrument is left to its thread (which dies with the process);
    the caller moves on to the next instrument.
    """
    import threading

    box: list[Any] = []

    def target() -> None:
        try:
            box.append(fn())
        except BaseException as exc:  # noqa: BLE001 — reported per instrument, never stops the others
            box.append(exc)

    thread = threading.Thread(target=target, name="hil-shutdown", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive() or not box:
        return False, None
    return True, box[0]
