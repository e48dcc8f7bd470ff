"""Arguments as a handler sees them: numbers with units and SI prefixes, ON/OFF, words in long
or short form, blocks and strings; every decoding failure is the SCPI error the instrument reports.
"""

from __future__ import annotations

import math
import re
from typing import Sequence

from hil.sim.scpi.errors import ScpiError
from hil.sim.scpi.parser import Argument, Command
from hil.sim.scpi.tree import forms

_NUMBER = re.compile(r"([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*([A-Za-z/]*)")
_PREFIXES = {"": 1.0, "EX": 1e18, "PE": 1e15, "T": 1e12, "G": 1e9, "MA": 1e6, "K": 1e3,
             "M": 1e-3, "U": 1e-6, "N": 1e-9, "P": 1e-12, "F": 1e-15}


def format_number(value: float) -> str:
    """Shortest text that reads back to the same float; NaN as SCPI's 9.91E+37."""
    value = float(value)
    if math.isnan(value):
        return "9.91E+37"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value).upper()


class Call:
    """One command as a handler sees it: query or not, decoded arguments, header suffixes."""

    def __init__(self, command: Command, suffixes: Sequence[int | None]):
        self.query = command.query
        self.args: tuple[Argument, ...] = command.args
        self.suffixes = tuple(suffixes)
        self.header = command.header

    def suffix(self, default: int = 1) -> int:
        """The first numeric suffix in the header (``:VOLT2:OFFS`` → 2), else ``default``."""
        return next((s for s in self.suffixes if s is not None), default)

    def count(self, low: int, high: int | None = None) -> None:
        high = low if high is None else high
        if len(self.args) < low:
            raise ScpiError(-109, f"{self.header} needs {low} argument(s)")
        if len(self.args) > high:
            raise ScpiError(-108, f"{self.header} takes at most {high} argument(s)")

    def text(self, index: int) -> str:
        arg = self.args[index]
        if arg.text is None:
            raise ScpiError(-104, f"argument {index + 1} of {self.header} must be a number or a word")
        return arg.text

    def number(self, index: int = 0, unit: str | None = None, bounds: tuple[float, float] | None = None) -> float:
        """A decimal number, with an optional unit and SI prefix (``10 MHZ``, ``5NS``), or MIN/MAX."""
        text = self.text(index)
        word = text.upper()
        if bounds is not None and word in ("MIN", "MINIMUM", "MAX", "MAXIMUM"):
            return bounds[0] if word.startswith("MIN") else bounds[1]
        found = _NUMBER.fullmatch(text)
        if not found:
            raise ScpiError(-104, f"{text!r} is not a number")
        value = float(found.group(1))
        suffix = found.group(2).upper()
        if suffix:
            value *= _multiplier(suffix, unit, text)
        return value

    def boolean(self, index: int = 0) -> bool:
        text = self.text(index).upper()
        if text in ("ON", "OFF"):
            return text == "ON"
        found = _NUMBER.fullmatch(text)
        if not found or found.group(2):
            raise ScpiError(-104, f"{text!r} is not ON, OFF, 1 or 0")
        return round(float(found.group(1))) != 0

    def word(self, index: int, options: Sequence[str]) -> str:
        """One of ``options`` (written as in the manual: ``IMMediate``), returned in short form."""
        text = self.text(index).upper()
        for option in options:
            short, long = forms(option)
            if text in (short, long):
                return short
        raise ScpiError(-224, f"{text!r} is not one of {', '.join(forms(o)[0] for o in options)}")

    def block(self, index: int) -> bytes:
        arg = self.args[index]
        if arg.block is None:
            raise ScpiError(-104, f"argument {index + 1} of {self.header} must be a block")
        return arg.block

    def string(self, index: int) -> str:
        arg = self.args[index]
        if arg.string is None:
            raise ScpiError(-104, f"argument {index + 1} of {self.header} must be a quoted string")
        return arg.string


def _multiplier(suffix: str, unit: str | None, text: str) -> float:
    if unit is None:
        raise ScpiError(-131, f"{text!r}: this setting takes no unit")
    unit = unit.upper()
    if not suffix.endswith(unit):
        raise ScpiError(-131, f"{text!r}: unit must be {unit}")
    prefix = suffix[: -len(unit)]
    if prefix == "M" and unit in ("HZ", "OHM"):
        return 1e6  # SCPI: MHZ and MOHM are mega
    if prefix not in _PREFIXES:
        raise ScpiError(-131, f"{text!r}: unknown prefix {prefix!r}")
    return _PREFIXES[prefix]
