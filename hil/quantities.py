"""Physical quantities and lists of them, read from text: one grammar for the CLI, procedures and bench files.

Why: a bare ``--t-w 28`` used to be read as 28 s (the run never ends), and
the CLI had three list syntaxes. Now::

    quantity := number [prefix] unit       28ps  4mA  1.5K  4.5GHz  -60dBm  40deg
    values   := item ("," item)*           8ps,28ps,40ps
    item     := quantity | quantity ":" quantity ":" count
                                           2ps:40ps:14 (inclusive: 14 points, stop included)

Rules:

- a quantity whose unit is not empty must carry it: ``28`` for a time is
  refused with "28 what? give a unit, e.g. 28ps";
- a bare ``0`` may omit the unit (zero is zero in every prefix), so
  ``0:4mA:9`` works — except in dBm, where 0 dBm is 1 mW;
- prefixes f p n u µ m k M G T (case matters: m is milli, M mega); none on
  dBm and deg;
- the result is in the unit asked for, which may itself carry a prefix
  (``parse_quantity("2ps", "ns") == 0.002``);
- dimensionless quantities (unit ``""``: α, gains) are plain numbers;
- angles (unit ``"deg"``) keep the CLI's old reading of a bare number as
  degrees; ``40deg``, ``40°`` and ``0.7rad`` are accepted too;
- counts are whole numbers 1..:data:`MAX_COUNT` (also for a whole list), so a
  typo cannot allocate gigabytes; values must be finite.

Errors are :class:`QuantityError` (a :class:`~hil.errors.HilError` and a
``ValueError``), each with the remedy. Standard library only: the CLI
imports this for ``hil --help``.
"""

from __future__ import annotations

import argparse
import math
import re
from decimal import Decimal
from typing import Any, Callable

from hil.errors import HilError

#: SI prefixes accepted before a unit, as powers of ten (µ as micro sign or Greek mu, or u).
PREFIXES: dict[str, int] = {"f": -15, "p": -12, "n": -9, "u": -6, "µ": -6, "μ": -6,
                            "m": -3, "k": 3, "M": 6, "G": 9, "T": 12}
#: Units the project uses, each with the prefix of a typical value (for the examples in messages).
UNITS: dict[str, str] = {"s": "p", "Hz": "G", "A": "m", "V": "", "T": "", "K": "", "m": "n", "W": "m",
                         "A/m": "k", "T/V": "", "Sa/s": "G"}
#: Units that take no prefix and whose bare 0 is not zero.
LOGARITHMIC = ("dBm",)
#: Most values one range or list may hold.
MAX_COUNT = 1_000_000

_NUMBER = re.compile(r"\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*(.*?)\s*$")
_DISPLAY_PREFIXES = ("T", "G", "M", "k", "", "m", "u", "n", "p", "f")


class QuantityError(HilError, ValueError):
    """A quantity, list or range could not be read; the message says what to write instead."""


def _split_unit(unit: str) -> tuple[str, int]:
    """``"ns"`` → ``("s", -9)``; a unit without a known prefix → ``(unit, 0)``."""
    if unit not in UNITS and unit[:1] in PREFIXES and unit[1:] in UNITS:
        return unit[1:], PREFIXES[unit[:1]]
    return unit, 0


def _example(number: str, unit: str) -> str:
    """A likely spelling of ``number`` in ``unit``: 28 → 28ps, but 1e-3 (already in A) → 1mA."""
    base, exp = _split_unit(unit)
    if exp or base not in UNITS:
        return f"{number}{unit}"
    value = float(number)
    if value != 0.0 and not 1.0 <= abs(value) < 1000.0:
        return format_quantity(value, base)
    return f"{number}{UNITS[base]}{base}"


def _finite(value: float, text: str) -> float:
    if not math.isfinite(value):
        raise QuantityError(f"{text!r} is not a finite number")
    return value


def parse_quantity(text: str, unit: str) -> float:
    """The value of ``text`` in ``unit``: ``parse_quantity("28ps", "s") == 28e-12``; see the module rules."""
    match = _NUMBER.match(str(text))
    if match is None:
        raise QuantityError(f"{text!r} is not a quantity; write a number then its unit, e.g. {_example('28', unit)}"
                            if unit else f"{text!r} is not a number")
    number, suffix = match.groups()
    value = _finite(float(number), text)
    if unit == "":
        if suffix:
            raise QuantityError(f"{text!r}: this quantity has no unit; give a plain number, e.g. {number}")
        return value
    if unit == "deg":
        angles = {"": 1.0, "deg": 1.0, "°": 1.0, "rad": 180.0 / math.pi}
        if suffix not in angles:
            raise QuantityError(f"{text!r}: give an angle in degrees (e.g. {number}deg) or radians (e.g. 0.7rad)")
        return value * angles[suffix]
    if suffix == "":
        if value == 0.0 and unit not in LOGARITHMIC:
            return 0.0
        raise QuantityError(f"{number} what? give a unit, e.g. {_example(number, unit)}")
    base, exp = _split_unit(unit)
    if suffix == unit:
        return value
    prefix = suffix[: -len(base)]
    if unit not in LOGARITHMIC and suffix.endswith(base) and (prefix in PREFIXES or prefix == ""):
        # in decimal, then one rounding: "28ps" is exactly the float 28e-12
        return _finite(float(Decimal(number).scaleb(PREFIXES.get(prefix, 0) - exp)), text)
    if unit in LOGARITHMIC:
        raise QuantityError(f"{text!r}: give a power in {unit} without prefix, e.g. {number}{unit}")
    raise QuantityError(f"{text!r} is not in {base}; write {base} with an optional prefix "
                        f"({' '.join(p for p in PREFIXES if p != 'μ')}), e.g. {_example(number, unit)}")


def _count(text: str, item: str) -> int:
    if not re.fullmatch(r"\s*\d+\s*", text):
        raise QuantityError(f"range {item!r}: the count {text.strip()!r} must be a whole number, 1 to {MAX_COUNT}")
    n = int(text)
    if not 1 <= n <= MAX_COUNT:
        raise QuantityError(f"range {item!r}: the count {n} must be 1 to {MAX_COUNT}")
    return n


def parse_values(text: str, unit: str) -> tuple[float, ...]:
    """``"8ps,28ps"``, ``"2ps:40ps:14"`` (inclusive) or a mix of both → values in ``unit``, in the order given."""
    items = str(text).split(",")
    if not str(text).strip():
        raise QuantityError(f"no values given; write e.g. {_example('8', unit)},{_example('28', unit)} "
                            f"or start:stop:count like {_example('0', unit)}:{_example('40', unit)}:9")
    out: list[float] = []

    def one(part: str, item: str) -> float:
        try:
            return parse_quantity(part, unit)
        except QuantityError as exc:
            raise QuantityError(f"{exc} (in {item!r})" if part != text else str(exc)) from None

    for item in items:
        parts = item.split(":")
        if not item.strip():
            raise QuantityError(f"{text!r}: an empty item in the list; separate values by single commas")
        if len(parts) == 1:
            out.append(one(item, text))
        elif len(parts) == 3:
            start, stop, n = one(parts[0], item), one(parts[1], item), _count(parts[2], item)
            if n == 1 and start != stop:
                raise QuantityError(f"range {item!r}: one point cannot span {parts[0]} to {parts[1]}; "
                                    "give a count ≥ 2 or a single value")
            if len(out) + n > MAX_COUNT:
                raise QuantityError(f"{text!r}: more than {MAX_COUNT} values")
            # in decimal from the values as written, then one rounding: 1ps:3ps:3 gives exactly 2e-12
            first, last = Decimal(repr(start)), Decimal(repr(stop))
            step = (last - first) / (n - 1) if n > 1 else Decimal(0)
            out.extend(stop if i == n - 1 else float(first + i * step) for i in range(n))
        else:
            raise QuantityError(f"{item!r}: a range is start:stop:count, e.g. "
                                f"{_example('2', unit)}:{_example('40', unit)}:14")
    if len(out) > MAX_COUNT:
        raise QuantityError(f"{text!r}: more than {MAX_COUNT} values")
    return tuple(out)


def format_quantity(value: float, unit: str) -> str:
    """The shortest text :func:`parse_quantity` reads back as ``value`` in ``unit``: 4.5e9, "Hz" → "4.5GHz"."""
    value = float(value)
    if unit in UNITS and unit != "T/V" and value != 0.0 and math.isfinite(value):
        for prefix in _DISPLAY_PREFIXES:
            exp = PREFIXES.get(prefix, 0)
            if abs(value) >= 10.0 ** exp * (1 - 1e-9) or prefix == "f":
                return f"{float(Decimal(repr(value)).scaleb(-exp)):.6g}{prefix}{unit}"
    return f"{value:.6g}{unit}"


def _argparse_type(read: Callable[[str, str], Any], unit: str, name: str) -> Callable[[str], Any]:
    """Wrap ``read(text, unit)`` as an argparse ``type=`` whose error is shown as written."""
    def parse(text: str) -> Any:
        try:
            return read(text, unit)
        except QuantityError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    parse.__name__ = name
    return parse


def quantity_arg(unit: str) -> Callable[[str], float]:
    """An argparse ``type=`` reading one quantity in ``unit``."""
    return _argparse_type(parse_quantity, unit, f"quantity in {unit}" if unit else "number")


def values_arg(unit: str) -> Callable[[str], tuple[float, ...]]:
    """An argparse ``type=`` reading values or ranges in ``unit`` (see :func:`parse_values`)."""
    return _argparse_type(parse_values, unit, f"values in {unit}" if unit else "values")
