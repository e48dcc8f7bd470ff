"""SCPI command-tree patterns as the manuals write them, and matching a parsed header against one.

Pattern syntax: ``[:SENSe]:FREQuency:CENTer``, ``OUTPut#[:STATe]``,
``BANDwidth|BWIDth[:RESolution]``. Upper-case letters are the short form,
the whole word the long form; either matches, in any case, nothing in
between (``FREQ`` and ``FREQUENCY`` match ``FREQuency``, ``FREQU`` does not).
Brackets make a node optional, ``|`` separates alternative mnemonics, and a
trailing ``#`` lets the node carry a numeric suffix (``OUTP1``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hil.sim.scpi.parser import Node

_TOKEN = re.compile(r"\[:?([^\]]+)\]|:?([^:\[\]]+)")


@dataclass(frozen=True)
class PatternNode:
    forms: tuple[tuple[str, str], ...]  # (short, long), upper case
    optional: bool
    suffix: bool

    def accepts(self, node: Node) -> bool:
        if node.suffix is not None and not self.suffix:
            return False
        return any(node.mnemonic in (short, long) for short, long in self.forms)


def forms(word: str) -> tuple[str, str]:
    """Short and long form of a mnemonic as the manuals write it (headers and argument words):
    ``FREQuency`` → (FREQ, FREQUENCY); ``INTernal2`` → (INT2, INTERNAL2)."""
    head = re.match(r"[A-Z]*", word).group(0)
    tail = re.search(r"\d*$", word).group(0)
    return head + tail, word.upper()


def compile_pattern(pattern: str) -> tuple[PatternNode, ...]:
    nodes = []
    consumed = 0
    for match in _TOKEN.finditer(pattern):
        if match.start() != consumed:
            raise ValueError(f"bad SCPI pattern {pattern!r} near {pattern[consumed:]!r}")
        consumed = match.end()
        optional = match.group(1) is not None
        text = match.group(1) or match.group(2)
        suffix = text.endswith("#")
        words = [w.lstrip(":") for w in text.rstrip("#").split("|")]
        nodes.append(PatternNode(tuple(forms(w) for w in words), optional, suffix))
    if consumed != len(pattern) or not nodes:
        raise ValueError(f"bad SCPI pattern {pattern!r}")
    return tuple(nodes)


def match(pattern: tuple[PatternNode, ...], nodes: tuple[Node, ...]) -> list[int | None] | None:
    """The suffix of each pattern node (None where absent or skipped), or None if no match."""
    return _match(pattern, 0, nodes, 0)


def _match(pattern, i: int, nodes, j: int) -> list[int | None] | None:
    if i == len(pattern):
        return [] if j == len(nodes) else None
    here = pattern[i]
    if j < len(nodes) and here.accepts(nodes[j]):
        rest = _match(pattern, i + 1, nodes, j + 1)
        if rest is not None:
            return [nodes[j].suffix] + rest
    if here.optional:
        rest = _match(pattern, i + 1, nodes, j)
        if rest is not None:
            return [None] + rest
    return None
