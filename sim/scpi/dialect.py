"""What every instrument dialect shares: the command table, common commands,
the error queue, and guarded calls into the twin.

A dialect is a table. Each row (:class:`Spec`) pairs a header pattern with a
handler; the factories :func:`number`, :func:`flag` and :func:`choice` build
the rows for plain settings (range-checked like the instrument: out of range
→ -222 in the error queue, setting unchanged), :func:`method` points a row
at a dialect method for anything with behaviour. A dialect keeps its
settings in ``self.state`` (or per-channel objects in ``self.channels``,
numbered by the header's suffix: ``scope="channel"``) and calls the twin only
through :meth:`Dialect.call_twin`, so a twin's exception becomes an entry in
the error queue, never a dead server. A dialect of a model with a spec in
:mod:`hil.instruments` takes its name, ``*IDN?`` and ``*OPT?`` from it
(``class X(Dialect, spec=SPEC)``). Fixed ranges (``…:RANGe``) and a
bias-source twin's load and compliance have their helpers here too
(:func:`range_query`, :func:`range_setting`, :func:`twin_load`,
:func:`twin_in_compliance`).

Every dialect answers the IEEE 488.2 common commands (``*IDN? *RST *CLS
*ESE *ESE? *ESR? *SRE *SRE? *STB? *OPC *OPC? *WAI *TST? *OPT? *TRG``) from
a real status model (:mod:`hil.sim.scpi.status`: errors set ESR bits, the
status byte follows), and the SCPI-99 mandatory ``SYST:ERR[:NEXT]?``,
``SYST:ERR:COUN?``, ``SYST:ERR:ALL?`` and ``SYST:VERS?``.

An unknown header — a query included — queues -113 Undefined header and
sends nothing, as an instrument does (IEEE 488.2 §6.1.6: a command error
produces no response). A client that asked an unknown query therefore
waits for its timeout; ``SYST:ERR?`` then says why.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Callable, ClassVar, Sequence

from hil.instruments import InstrumentSpec, fixed_range
from hil.sim.scpi.arguments import Call, format_number
from hil.sim.scpi.errors import ErrorQueue, ScpiError, ascii_text
from hil.sim.scpi.parser import Command, iter_message
from hil.sim.scpi.status import StatusModel
from hil.sim.scpi.tree import PatternNode, compile_pattern, match

__all__ = ["Call", "Dialect", "Spec", "choice", "flag", "format_number", "method", "number", "range_query",
           "range_setting", "twin_in_compliance", "twin_load"]

log = logging.getLogger(__name__)

Reply = str | bytes
#: Distinct headers whose table match a dialect remembers.
_MATCH_CACHE = 256
Handler = Callable[["Dialect", Call], "Reply | None"]


@dataclass(frozen=True)
class Spec:
    """One row of a dialect's table: a header pattern, its handler, whether it may be queried or set."""

    pattern: str
    handler: Handler
    query: bool = True
    write: bool = True
    nodes: tuple[PatternNode, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "nodes", compile_pattern(self.pattern))


def _setting(pattern: str, attr: str, scope: str, decode: Callable[[Call], Any], encode: Callable[[Any], str],
             check: str | None, apply: str | None, bounds: tuple[float, float] | None = None) -> Spec:
    """A stored setting: query returns it; set decodes, checks, stores, then applies (reverting if that fails)."""

    def handler(dialect: "Dialect", call: Call) -> Reply | None:
        target = dialect.target(call, scope)
        if call.query:
            if bounds is not None and call.args:  # ``<header>? MIN|MAX``: the limit (SCPI-99 vol. 1, 7.2.1.1)
                call.count(1)
                return encode(bounds[0] if call.word(0, ("MINimum", "MAXimum")) == "MIN" else bounds[1])
            call.count(0)
            return encode(getattr(target, attr))
        call.count(1)
        value = decode(call)
        if check:
            getattr(dialect, check)(target, attr, value)
        old = getattr(target, attr)
        setattr(target, attr, value)
        if apply:
            try:
                getattr(dialect, apply)(call, target, value)
            except BaseException:
                setattr(target, attr, old)
                raise
        return None

    return Spec(pattern, handler)


def number(pattern: str, attr: str, bounds: tuple[float, float], *, unit: str | None = None,
           integer: bool = False, scope: str = "instrument", check: str | None = None,
           apply: str | None = None) -> Spec:
    """A numeric setting, range-checked as the instrument does: outside ``bounds`` → -222, unchanged."""
    low, high = bounds

    def decode(call: Call) -> float:
        value = call.number(0, unit, bounds)
        if not math.isfinite(value) or not low <= value <= high:
            raise ScpiError(-222, f"{value:g} outside [{low:g}, {high:g}]")
        return int(round(value)) if integer else value

    return _setting(pattern, attr, scope, decode, format_number, check, apply, bounds)


def flag(pattern: str, attr: str, *, scope: str = "instrument", apply: str | None = None) -> Spec:
    """An ON/OFF setting; queries answer 1 or 0."""
    return _setting(pattern, attr, scope, lambda call: call.boolean(0), lambda v: "1" if v else "0", None, apply)


def choice(pattern: str, attr: str, options: Sequence[str], *, scope: str = "instrument",
           apply: str | None = None) -> Spec:
    """A word setting stored and answered in short form (``MANual`` → ``MAN``)."""
    return _setting(pattern, attr, scope, lambda call: call.word(0, options), str, None, apply)


def method(pattern: str, name: str, *, query: bool = True, write: bool = True) -> Spec:
    """A row whose behaviour is the dialect method ``name(call)``."""
    return Spec(pattern, lambda dialect, call: getattr(dialect, name)(call), query=query, write=write)


def range_query(call: Call, ranges: tuple[float, ...], now: float) -> str:
    """``…:RANGe? [MIN|MAX]``: the range in use (``now``), or the smallest or largest of ``ranges``."""
    call.count(0, 1)
    if call.args:
        return format_number(ranges[0 if call.word(0, ("MINimum", "MAXimum")) == "MIN" else -1])
    return format_number(now)


def range_setting(call: Call, ranges: tuple[float, ...], unit: str, overrange: float) -> float:
    """``…:RANGe <n>|MIN|MAX``: the smallest of ``ranges`` that holds |n| with the instrument's
    ``overrange`` (:func:`hil.instruments.fixed_range`, the driver's too); beyond the largest → -222."""
    call.count(1)
    value = abs(call.number(0, unit, (ranges[0], ranges[-1])))
    chosen = fixed_range(value, ranges, overrange)
    if chosen is None:
        raise ScpiError(-222, f"range {value:g} {unit} beyond {ranges[-1]:g} {unit}")
    return chosen


def twin_load(dialect: "Dialect") -> float | None:
    """A bias-source twin's load in ohm, where it says (``load_resistance()`` or a ``resistance`` number)."""
    load = getattr(dialect.twin, "load_resistance", None)
    if callable(load):
        return float(dialect.call_twin(load))
    value = getattr(dialect.twin, "resistance", None)
    return float(value) if isinstance(value, (int, float)) else None


def twin_in_compliance(dialect: "Dialect", output: bool, current: float, compliance: float) -> bool:
    """Whether a current source's voltage compliance holds the twin: its ``in_compliance()`` where it
    has one, else (output on) |current|·R beyond |compliance| through :func:`twin_load`."""
    ask = getattr(dialect.twin, "in_compliance", None)
    if callable(ask):
        return bool(dialect.call_twin(ask))
    ohms = twin_load(dialect)
    return bool(output and ohms is not None and abs(current) * ohms > abs(compliance))


class Dialect:
    """Base of every instrument dialect: common commands, ``SYST:ERR?``, table dispatch.

    Subclasses set ``role`` (the role the twin must satisfy) and ``COMMANDS``,
    ``name`` (the registry key), ``idn`` and ``options`` — or give the model's
    spec, ``class X(Dialect, spec=SPEC)``, which sets those three from it —
    and override :meth:`reset`. Channel-scoped settings live in
    ``self.channels`` (number → object), which :meth:`target` looks up.
    """

    name: ClassVar[str]
    role: ClassVar[type]
    idn: ClassVar[str]
    #: The model's spec (:mod:`hil.instruments`), where it has one.
    spec: ClassVar[InstrumentSpec | None] = None
    #: What a header's suffix numbers, for the -114 of a missing one ("channel", "output").
    channel_word: ClassVar[str] = "channel"
    #: ``*OPT?`` reply: the installed options as the model lists them ("0": none).
    options: ClassVar[str] = "0"
    #: ``SYST:VERS?`` reply: the SCPI version the model claims.
    scpi_version: ClassVar[str] = "1999.0"
    #: Error queue length (most instruments: 20 to 30).
    ERROR_QUEUE: ClassVar[int] = 20
    COMMANDS: ClassVar[tuple[Spec, ...]] = ()
    BASE_COMMANDS: ClassVar[tuple[Spec, ...]] = (
        method(":SYSTem:ERRor[:NEXT]", "_system_error", write=False),
        method(":SYSTem:ERRor:COUNt", "_system_error_count", write=False),
        method(":SYSTem:ERRor:ALL", "_system_error_all", write=False),
        method(":SYSTem:VERSion", "_system_version", write=False),
    )

    def __init_subclass__(cls, spec: InstrumentSpec | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if spec is not None:
            cls.spec, cls.name, cls.idn, cls.options = spec, spec.key, spec.idn, spec.options

    def __init__(self, twin: Any):
        self.twin = twin
        self.status = StatusModel()
        self.errors = ErrorQueue(self.ERROR_QUEUE, on_push=self.status.record)
        self.state = SimpleNamespace()
        self._table = self.COMMANDS + self.BASE_COMMANDS
        self.reset()

    # -- what subclasses provide ----------------------------------------------

    def reset(self) -> None:
        """Settings to their ``*RST`` values."""

    def target(self, call: Call, scope: str) -> Any:
        """The object a setting of ``scope`` lives on: ``self.state``, or, for ``"channel"``, the
        entry of ``self.channels`` the header's suffix numbers (absent: -114)."""
        channels = getattr(self, "channels", None)
        if scope == "channel" and channels is not None:
            number = call.suffix()
            if number not in channels:
                raise ScpiError(-114, f"{self.channel_word} {number}")
            return channels[number]
        if scope != "instrument":
            raise ScpiError(-114, f"no {scope} here")
        return self.state

    def bus_trigger(self) -> None:
        """``*TRG``. Instruments without a bus trigger ignore it."""
        raise ScpiError(-211)

    # -- execution --------------------------------------------------------------

    def execute(self, message: bytes) -> bytes | None:
        """Run one program message; return the response message (with terminator) or None."""
        replies: list[bytes] = []
        for item in iter_message(message):
            if isinstance(item, ScpiError):
                self.errors.push(item)
                continue
            try:
                reply = self._dispatch(item)
            except ScpiError as error:
                self.errors.push(error)
                continue
            except Exception as error:  # a bug in a dialect must not take the server down
                log.exception("dialect %s failed on %s", self.name, item.header)
                self.errors.push(ScpiError(-300, f"{type(error).__name__}: {error}"))
                continue
            if item.query:
                replies.append(reply if isinstance(reply, bytes) else ascii_text(str(reply or "")).encode("ascii"))
        return b";".join(replies) + b"\n" if replies else None

    def call_twin(self, function: Callable[..., Any], *args: Any) -> Any:
        """Call a role method of the twin; its refusal (ValueError) is -222, any other failure -240."""
        try:
            return function(*args)
        except ValueError as error:
            raise ScpiError(-222, f"twin refused: {error}") from error
        except Exception as error:
            log.exception("twin call %s failed", getattr(function, "__name__", function))
            raise ScpiError(-240, f"twin failed: {type(error).__name__}: {error}") from error

    def sync_twin(self, function: Callable[..., Any], *args: Any) -> None:
        """Like :meth:`call_twin` for bringing the twin in line with a reset: failures are queued, not raised."""
        try:
            self.call_twin(function, *args)
        except ScpiError as error:
            self.errors.push(error)

    def _lookup(self, nodes: tuple) -> tuple[Spec, list[int | None]] | None:
        """The first row matching ``nodes`` (cached: a client repeats its few headers; the cache is
        bounded, so a stream of distinct garbage headers cannot grow it)."""
        cache = self.__dict__.setdefault("_matches", {})
        try:
            return cache[nodes]
        except KeyError:
            pass
        found = None
        for spec in self._table:
            suffixes = match(spec.nodes, nodes)
            if suffixes is not None:
                found = (spec, suffixes)
                break
        if len(cache) >= _MATCH_CACHE:
            cache.clear()
        cache[nodes] = found
        return found

    def _dispatch(self, command: Command) -> Reply | None:
        if command.common:
            return self._common(command)
        found = self._lookup(command.nodes)
        if found is None:
            raise ScpiError(-113, command.header)
        spec, suffixes = found
        if (command.query and not spec.query) or (not command.query and not spec.write):
            raise ScpiError(-113, f"{command.header} (no {'query' if command.query else 'setting'} form)")
        return spec.handler(self, Call(command, suffixes))

    def _common(self, command: Command) -> Reply | None:
        """IEEE 488.2 §10 common commands, answered from the status model."""
        name, query = command.common, command.query
        if command.args and (query or name not in ("*ESE", "*SRE")):
            raise ScpiError(-108, f"{name} takes no argument")
        handler = _COMMON.get((name, query))
        if handler is None:
            raise ScpiError(-113, f"{name}{'?' if query else ''}")
        call = Call(command, ())
        if name in ("*ESE", "*SRE") and not query:
            call.count(1)
            value = call.number(0)
            if value != round(value) or not 0 <= value <= 255:
                raise ScpiError(-222, f"{name} takes an integer 0 to 255, got {call.text(0)}")
            return handler(self, int(value))
        call.count(0)
        return handler(self)

    def _clear_status(self) -> None:
        self.errors.clear()
        self.status.clear()

    def _system_error(self, call: Call) -> Reply:
        call.count(0)
        return self.errors.pop()

    def _system_error_count(self, call: Call) -> Reply:
        call.count(0)
        return str(len(self.errors))

    def _system_error_all(self, call: Call) -> Reply:
        """Every entry, oldest first, comma-separated; ``0,"No error"`` when empty."""
        call.count(0)
        entries = [self.errors.pop() for _ in range(len(self.errors))]
        return ",".join(entries) if entries else '0,"No error"'

    def _system_version(self, call: Call) -> Reply:
        call.count(0)
        return self.scpi_version


def _opc(dialect: Dialect) -> None:
    dialect.status.operation_complete()  # commands run in order: all before it are done


#: (name, query) → behaviour; *ESE/*SRE settings get their integer argument.
_COMMON: dict[tuple[str, bool], Callable[..., Reply | None]] = {
    ("*IDN", True): lambda d: d.idn,
    ("*OPT", True): lambda d: d.options,
    ("*TST", True): lambda d: "0",  # self-test passed
    ("*RST", False): lambda d: d.reset(),
    ("*CLS", False): lambda d: d._clear_status(),
    ("*ESE", False): lambda d, v: setattr(d.status, "ese", v),
    ("*ESE", True): lambda d: str(d.status.ese),
    ("*SRE", False): lambda d, v: setattr(d.status, "sre", v & ~64),
    ("*SRE", True): lambda d: str(d.status.sre),
    ("*ESR", True): lambda d: str(d.status.read_esr()),
    ("*STB", True): lambda d: str(d.status.status_byte(len(d.errors))),
    ("*OPC", False): _opc,
    ("*OPC", True): lambda d: "1",  # commands run in order, so everything before has completed
    ("*WAI", False): lambda d: None,
    ("*TRG", False): lambda d: d.bus_trigger(),
}
