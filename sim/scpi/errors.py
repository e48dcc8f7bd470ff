"""SCPI error codes and the instrument's error queue (``SYSTem:ERRor?``).

Codes and texts are the standard SCPI ones (SCPI-99, vol. 2, ch. 21), the
ones real instruments report, so a driver's ``check_errors`` reads a twin
exactly as it reads the instrument.
"""

from __future__ import annotations

from collections import deque

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


class ScpiError(Exception):
    """A command the instrument refuses: it goes to the error queue, never to the client as a crash."""

    def __init__(self, code: int, detail: str = ""):
        self.code = code
        self.message = MESSAGES.get(code, "Unknown error")
        self.detail = detail
        super().__init__(self.entry())

    def entry(self) -> str:
        """The ``SYST:ERR?`` reply: ``-222,"Data out of range;detail"``."""
        text = f"{self.message};{self.detail}" if self.detail else self.message
        return f'{self.code},"{text}"'.replace("\n", " ")


class ErrorQueue:
    """First in, first out; when full, the newest entry becomes -350 Queue overflow (SCPI rule)."""

    def __init__(self, capacity: int = 20):
        self._entries: deque[ScpiError] = deque()
        self._capacity = capacity

    def push(self, error: ScpiError) -> None:
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
