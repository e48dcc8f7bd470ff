"""SCPI error codes and the instrument's error queue (``SYSTem:ERRor?``).

Codes and texts are the standard SCPI ones (SCPI-99, vol. 2, ch. 21), the
ones real instruments report, so a driver's ``check_errors`` reads a twin
exactly as it reads the instrument.

Bounded like an instrument's: an entry's description (message and detail)
is at most 255 characters (SCPI-99 21.8.3: "maximum string length ... 255
characters") and printable ASCII (``±`` becomes ``+/-``; anything else is
escaped), and the queue holds ``capacity`` entries, the newest becoming
-350 Queue overflow when full. A client can neither grow the server's
memory through it nor get a reply that cannot be encoded.
"""

from __future__ import annotations

from collections import deque
from typing import Callable

MESSAGES: dict[int, str] = {
    0: "No error",
    -100: "Command error",
    -101: "Invalid character",
    -102: "Syntax error",
    -104: "Data type error",
    -108: "Parameter not allowed",
    -109: "Missing parameter",
    -113: "Undefined header",
    -114: "Header suffix out of range",
    -131: "Invalid suffix",
    -151: "Invalid string data",
    -161: "Invalid block data",
    -211: "Trigger ignored",
    -221: "Settings conflict",
    -222: "Data out of range",
    -223: "Too much data",
    -224: "Illegal parameter value",
    -230: "Data corrupt or stale",
    -240: "Hardware error",
    -300: "Device-specific error",
    -350: "Queue overflow",
}


#: SCPI-99 21.8.3: an error description is at most 255 characters.
MAX_DESCRIPTION = 255
_SPELLED = {"±": "+/-", "−": "-", "≤": "<=", "≥": ">=", "·": "*", "×": "x", "µ": "u", "σ": "sigma",
            "Ω": "Ohm", "…": "...", "→": "->", "‘": "'", "’": "'", "“": "'", "”": "'"}


def ascii_text(text: str) -> str:
    """Printable ASCII for a reply: common symbols spelled out, control characters as spaces,
    anything else as a backslash escape (an instrument's reply is ASCII, IEEE 488.2 8.7.2)."""
    if text.isascii() and text.isprintable():
        return text
    out = []
    for char in text:
        if char in _SPELLED:
            out.append(_SPELLED[char])
        elif char.isascii():
            out.append(char if char.isprintable() else " ")
        else:
            out.append(char.encode("ascii", "backslashreplace").decode("ascii"))
    return "".join(out)


class ScpiError(Exception):
    """A command the instrument refuses: it goes to the error queue, never to the client as a crash.

    The detail is cut so that the description stays within :data:`MAX_DESCRIPTION`
    characters, and made ASCII, at construction: an entry costs at most a few hundred bytes.
    """

    def __init__(self, code: int, detail: str = ""):
        self.code = code
        self.message = MESSAGES.get(code, "Unknown error")
        room = MAX_DESCRIPTION - len(self.message) - 1
        detail = ascii_text(str(detail)[: 4 * MAX_DESCRIPTION]).replace('"', "'")
        self.detail = detail if len(detail) <= room else detail[: room - 3] + "..."
        super().__init__(self.entry())

    def entry(self) -> str:
        """The ``SYST:ERR?`` reply: ``-222,"Data out of range;detail"`` (description ≤ 255 characters)."""
        text = f"{self.message};{self.detail}" if self.detail else self.message
        return f'{self.code},"{text}"'


class ErrorQueue:
    """First in, first out; when full, the newest entry becomes -350 Queue overflow (SCPI rule).

    ``on_push(code)`` is told of every error pushed (the status model sets its event bits from it).
    """

    def __init__(self, capacity: int = 20, on_push: Callable[[int], None] | None = None):
        self._entries: deque[ScpiError] = deque()
        self._capacity = capacity
        self._on_push = on_push

    def push(self, error: ScpiError) -> None:
        if self._on_push is not None:
            self._on_push(error.code)
        # Keep the entry, not its traceback: frames would hold the whole message alive.
        error.__traceback__ = error.__context__ = error.__cause__ = None
        if len(self._entries) >= self._capacity:
            self._entries[-1] = ScpiError(-350)
        else:
            self._entries.append(error)

    def pop(self) -> str:
        return self._entries.popleft().entry() if self._entries else '0,"No error"'

    def clear(self) -> None:
        self._entries.clear()

    def codes(self) -> list[int]:
        """Pending codes, oldest first (for tests and logs; does not consume)."""
        return [e.code for e in self._entries]

    def __len__(self) -> int:
        return len(self._entries)
