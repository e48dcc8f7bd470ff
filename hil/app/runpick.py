"""Picking a run: one syntax everywhere — the store, then ``--run RUN_ID`` (``hil classify out/eval.h5 --run ID``).

``FILE::RUN_ID`` (the older spelling of ``hil train classifier``) is still accepted for this release, with a
deprecation note on stderr naming the spelling to use instead.
"""

from __future__ import annotations

import sys

DEPRECATED = "::"


def pick(source: str, run: str | None, command: str) -> tuple[str, str | None]:
    """(store path, run id or None) from a store argument and ``--run``; ``FILE::RUN_ID`` accepted with a note."""
    if DEPRECATED not in source:
        return source, run
    path, _, given = source.partition(DEPRECATED)
    if run and given and run != given:
        from hil.errors import HilError

        raise HilError(f"hil {command}: {source!r} names run {given!r} but --run names {run!r}; give one")
    print(f"hil {command}: note: {source!r} (FILE::RUN_ID) is deprecated and will be refused in the next release; "
          f"write `{path} --run {given}`", file=sys.stderr)
    return path, given or run
