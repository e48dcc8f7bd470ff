"""A byte stream from a socket → complete SCPI program messages.

A message ends at a newline, except inside an IEEE 488.2 definite-length
block, whose payload may hold any byte, newlines included. The framer
scans incrementally (a 4 MB waveform arriving in 64 kB pieces is scanned
once), and bounds what it buffers: a message longer than ``limit`` — or a
block declaring more — is dropped up to the next newline and reported as
-223 Too much data, so a client streaming garbage cannot exhaust memory.
"""

from __future__ import annotations

import re

from hil.sim.scpi.errors import ScpiError

# What the scan stops at (a regex search, not a Python loop per byte: linear and fast).
_OUTSIDE = re.compile(rb"[\n\"'#]")
_IN_QUOTE = {0x22: re.compile(rb"[\n\"]"), 0x27: re.compile(rb"[\n']")}

#: Largest message accepted: a 16 M-point float waveform fits.
MAX_MESSAGE = 80 << 20


class MessageFramer:
    def __init__(self, limit: int = MAX_MESSAGE):
        self._limit = limit
        self._buffer = bytearray()
        self._pos = 0  # next byte to scan
        self._skip = 0  # block payload bytes still to pass over
        self._quote: int | None = None
        self._discarding = False

    def feed(self, data: bytes) -> list[bytes | ScpiError]:
        """Add received bytes; return the messages (without terminator) and errors they complete."""
        out: list[bytes | ScpiError] = []
        if self._discarding:
            newline = data.find(b"\n")
            if newline < 0:
                return out
            data = data[newline + 1:]
            self._discarding = False
        self._buffer += data
        buffer = self._buffer
        start = 0  # of the message being scanned; complete ones before it are cut once, below
        while self._pos < len(buffer):
            if self._skip:
                step = min(self._skip, len(buffer) - self._pos)
                self._pos += step
                self._skip -= step
                continue
            pattern = _OUTSIDE if self._quote is None else _IN_QUOTE[self._quote]
            found = pattern.search(buffer, self._pos)
            if found is None:
                self._pos = len(buffer)
                break
            self._pos = found.start()
            byte = buffer[self._pos]
            if byte == 0x0A:
                message = bytes(buffer[start:self._pos])
                self._pos += 1
                start, self._quote = self._pos, None
                if message.strip():
                    out.append(message)
                continue
            if self._quote is not None:
                self._quote = None  # the closing quote
            elif byte in (0x22, 0x27):
                self._quote = byte
            else:  # '#'
                state = self._enter_block(buffer)
                if state == "wait":
                    break
                if state == "too long":
                    self._cut(start)
                    return out + self._drop()
            self._pos += 1
        self._cut(start)
        if len(buffer) > self._limit:
            out += self._drop()
        return out

    def _cut(self, start: int) -> None:
        """Forget the complete messages in front of ``start`` (one move per feed, not per message)."""
        if start:
            del self._buffer[:start]
            self._pos -= start

    def _drop(self) -> list[bytes | ScpiError]:
        """Drop the message being received, up to its newline if it has arrived."""
        error = ScpiError(-223, f"message longer than {self._limit} bytes dropped")
        newline = self._buffer.find(b"\n", self._pos)
        rest = bytes(self._buffer[newline + 1:]) if newline >= 0 else b""
        self._reset_buffer()
        if newline < 0:
            self._discarding = True
            return [error]
        return [error] + self.feed(rest)

    def _enter_block(self, buffer: bytearray) -> str:
        """At a '#': step past a block header and arm the payload skip.

        → "wait" (header incomplete), "too long" (declares more than the limit) or "ok".
        """
        start = self._pos
        if start + 1 >= len(buffer):
            return "wait"
        digits = buffer[start + 1] - 0x30
        if not 1 <= digits <= 9:
            return "ok"  # not a definite-length block ('#0' runs to the newline anyway)
        if start + 2 + digits > len(buffer):
            return "wait"
        field = bytes(buffer[start + 2:start + 2 + digits])
        if not field.isdigit():
            return "ok"
        length = int(field)
        if length > self._limit:
            return "too long"
        self._skip = length
        self._pos = start + 1 + digits  # the loop's += 1 lands after the length field
        return "ok"

    def _reset_buffer(self) -> None:
        self._buffer.clear()
        self._pos = self._skip = 0
        self._quote = None
