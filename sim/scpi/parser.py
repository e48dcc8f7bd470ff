"""SCPI program messages → commands: IEEE 488.2 / SCPI syntax, no instrument knowledge.

A message is one line from the client without its terminator. It holds
program message units separated by ``;``; each unit is a header — common
(``*IDN?``) or compound (``:FREQ:CENT``), ``?`` for a query — then
arguments separated by ``,``. An argument may be an IEEE 488.2
definite-length block (``#<n><length><bytes>``) whose bytes can contain
``;``, ``,``, quotes or newlines, so every split steps over blocks.

A compound header without a leading colon continues the path of the
previous one (``:FREQ:CENT 1e9;SPAN 1e6`` sets ``:FREQ:SPAN``); common
commands leave the path alone.

Linear in the message: separators are found by one regular-expression scan
(no per-byte Python loop), units are parsed one at a time as they are run
(:func:`iter_message`), and a header deeper than :data:`MAX_DEPTH` nodes is
-113 without extending the path. (``SOUR:CURR 1e-3;`` repeated is legal
SCPI whose path grows by one node a unit — ``SOUR:SOUR:CURR`` … — and is
undefined on any instrument; held in full, a 1 MB line of it made a
quadratic pile of paths.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator

from hil.sim.scpi.errors import ScpiError

_QUOTES = (0x22, 0x27)  # " '
_HASH = 0x23
_WHITESPACE = b" \t\r\n"
_MNEMONIC = re.compile(r"([A-Za-z][A-Za-z0-9_]*?)(\d*)")
_COMMON = re.compile(r"\*([A-Za-z]+)(\?)?")
_GAP = re.compile(rb"[ \t\r\n]")
_SPECIAL = {0x3B: re.compile(rb"[\"'#;]"), 0x2C: re.compile(rb"[\"'#,]")}
#: No instrument's command tree is deeper than this; a longer path is undefined (-113).
MAX_DEPTH = 12


@dataclass(frozen=True)
class Node:
    """One header mnemonic as sent: upper-cased, numeric suffix split off (``OUTP1`` → OUTP, 1)."""

    mnemonic: str
    suffix: int | None = None


@dataclass(frozen=True)
class Argument:
    """One argument: exactly one of ``text`` (numbers, words), ``string`` (quoted) or ``block``."""

    text: str | None = None
    string: str | None = None
    block: bytes | None = None


@dataclass(frozen=True)
class Command:
    """A parsed unit. ``common`` is e.g. ``*IDN`` (then ``nodes`` is empty); ``nodes`` is the absolute path."""

    nodes: tuple[Node, ...]
    common: str | None
    query: bool
    args: tuple[Argument, ...]

    @property
    def header(self) -> str:
        if self.common:
            return self.common + ("?" if self.query else "")
        path = ":".join(n.mnemonic + (str(n.suffix) if n.suffix is not None else "") for n in self.nodes)
        return ":" + path + ("?" if self.query else "")


def block_end(data: bytes, start: int) -> int:
    """Index just past the block that starts at ``data[start] == '#'``.

    ``#0`` (indefinite length) runs to the end of the message.
    """
    digits = data[start + 1] - 0x30 if start + 1 < len(data) else -1
    if digits == 0:
        return len(data)
    if not 1 <= digits <= 9:
        raise ScpiError(-161, "block header needs '#' and a digit")
    length_text = data[start + 2:start + 2 + digits]
    if len(length_text) != digits or not length_text.isdigit():
        raise ScpiError(-161, "block length field malformed")
    end = start + 2 + digits + int(length_text)
    if end > len(data):
        raise ScpiError(-161, f"block declares {int(length_text)} bytes, {len(data) - start - 2 - digits} arrived")
    return end


def split_top_level(data: bytes, separator: int) -> list[bytes]:
    """Split at ``separator`` bytes outside quoted strings and blocks (one regex scan, linear)."""
    parts: list[bytes] = []
    start = index = 0
    size = len(data)
    search = (_SPECIAL.get(separator) or re.compile(b"[\"'#" + re.escape(bytes((separator,))) + b"]")).search
    while True:
        found = search(data, index)
        if found is None:
            break
        index = found.start()
        byte = data[index]
        if byte in _QUOTES:
            close = data.find(bytes((byte,)), index + 1)
            if close < 0:
                raise ScpiError(-151, "string not closed")
            index = close + 1
        elif byte == _HASH:
            if index + 1 < size and 0x30 <= data[index + 1] <= 0x39:
                index = block_end(data, index)
            else:
                index += 1
        elif byte == separator:
            parts.append(data[start:index])
            start = index = index + 1
        else:
            index += 1
    parts.append(data[start:])
    return parts


def _ascii(raw: bytes, code: int, what: str) -> str:
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:
        raise ScpiError(code, f"non-ASCII byte in {what}") from None


def parse_argument(raw: bytes) -> Argument:
    body = raw.lstrip(_WHITESPACE)
    if body[:1] == b"#" and body[1:2].isdigit():
        end = block_end(body, 0)
        if body[end:].strip(_WHITESPACE):
            raise ScpiError(-161, "bytes after the end of a block")
        if body[1:2] == b"0":
            return Argument(block=body[2:])
        digits = body[1] - 0x30
        return Argument(block=body[2 + digits:end])
    body = body.rstrip(_WHITESPACE)
    if not body:
        raise ScpiError(-102, "empty argument")
    if body[0] in _QUOTES:
        quote = chr(body[0])
        if len(body) < 2 or body[-1] != body[0]:
            raise ScpiError(-151, "string not closed")
        inner = _ascii(body[1:-1], -151, "a string")
        if quote in inner.replace(quote * 2, ""):
            raise ScpiError(-151, "unescaped quote inside a string")
        return Argument(string=inner.replace(quote * 2, quote))
    return Argument(text=_ascii(body, -101, "an argument"))


def parse_header(header: str) -> tuple[str | None, tuple[Node, ...], bool, bool]:
    """→ (common name or None, nodes, query, absolute)."""
    common = _COMMON.fullmatch(header)
    if common:
        return "*" + common.group(1).upper(), (), common.group(2) is not None, True
    query = header.endswith("?")
    body = header[:-1] if query else header
    absolute = body.startswith(":")
    if absolute:
        body = body[1:]
    nodes = []
    for part in body.split(":"):
        match = _MNEMONIC.fullmatch(part)
        if not match:
            raise ScpiError(-102, f"bad header {header!r}")
        suffix = int(match.group(2)) if match.group(2) else None
        nodes.append(Node(match.group(1).upper(), suffix))
    return None, tuple(nodes), query, absolute


def parse_unit(unit: bytes, path: tuple[Node, ...]) -> Command | None:
    """One program message unit → Command (None for an empty unit, e.g. after a trailing ';')."""
    text = unit.lstrip(_WHITESPACE)
    if not text.strip(_WHITESPACE):
        return None
    gap = _GAP.search(text)
    split = gap.start() if gap else len(text)
    header = _ascii(text[:split], -102, "a header")
    common, nodes, query, absolute = parse_header(header)
    rest = text[split:]
    args = () if not rest.strip(_WHITESPACE) else tuple(parse_argument(a) for a in split_top_level(rest, 0x2C))
    if common is None and not absolute:
        if len(path) + len(nodes) > MAX_DEPTH:
            raise ScpiError(-113, f"header path deeper than {MAX_DEPTH} nodes")
        nodes = path + nodes
    return Command(nodes=nodes, common=common, query=query, args=args)


def iter_message(message: bytes) -> Iterator[Command | ScpiError]:
    """Every unit of a message, parsed as it is reached; a unit that fails yields its ScpiError
    and the rest go on. Only the current unit and path are held, so memory stays linear."""
    try:
        units = split_top_level(message, 0x3B)
    except ScpiError as error:
        yield error
        return
    path: tuple[Node, ...] = ()
    for unit in units:
        try:
            command = parse_unit(unit, path)
        except ScpiError as error:
            yield error
            continue
        if command is None:
            continue
        if command.common is None:
            path = command.nodes[:-1]
        yield command


def parse_message(message: bytes) -> list[Command | ScpiError]:
    """:func:`iter_message` as a list (for tests and tools; the server iterates)."""
    return list(iter_message(message))
