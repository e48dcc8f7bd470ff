"""Instruments, twins and samples by registered name.

A bench file is shared between people and machines, so it is untrusted: it
may only *name* things that an installed package has registered, never give
an import path. Registration is the Python packaging plugin convention — an
entry point in one of three groups::

    [project.entry-points."spin_hil.drivers"]   # real instruments
    keithley6221 = "hil.drivers.keithley:Keithley6221Bias"
    [project.entry-points."spin_hil.twins"]     # simulated instruments
    [project.entry-points."spin_hil.samples"]   # simulated devices under test

spin-hil registers its own classes the same way (``pyproject.toml``), so a
third-party driver package is a first-class citizen: one line in its own
``pyproject.toml``. Names are listed from the installed metadata without
importing anything; a class is imported only when a bench names it, and only
the registered target, never a string from the bench file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import EntryPoint, entry_points

from hil.errors import HilError

#: bench-file kind → entry-point group
GROUPS: dict[str, str] = {
    "driver": "spin_hil.drivers",
    "twin": "spin_hil.twins",
    "sample": "spin_hil.samples",
}

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


class RegistryError(HilError):
    """A name that is not registered (or a registered entry that fails to load)."""


@dataclass(frozen=True)
class Registered:
    """One registered name: what kind it is and where its class lives (not imported)."""

    kind: str
    name: str
    target: str  # "module:attr", from installed metadata
    distribution: str

    @property
    def module(self) -> str:
        return self.target.partition(":")[0]


@lru_cache(maxsize=None)
def _entries(kind: str) -> dict[str, EntryPoint]:
    found: dict[str, EntryPoint] = {}
    for ep in entry_points(group=GROUPS[kind]):
        if NAME_RE.match(ep.name) and ep.name not in found:
            found[ep.name] = ep
    return found


def names(kind: str) -> list[str]:
    """Every registered name of ``kind`` ("driver", "twin" or "sample"), sorted."""
    return sorted(_entries(kind))


def entries(kind: str) -> list[Registered]:
    """Every registered entry of ``kind``, without importing any of them."""
    out = []
    for name, ep in sorted(_entries(kind).items()):
        dist = ep.dist.name if getattr(ep, "dist", None) is not None else "?"
        out.append(Registered(kind, name, ep.value, dist))
    return out


def lookup(kind: str, name: str) -> Registered:
    """The registered entry ``name`` of ``kind``; unknown names raise with the known ones."""
    ep = _entries(kind).get(name) if isinstance(name, str) else None
    if ep is None:
        known = ", ".join(names(kind)) or "none installed"
        raise RegistryError(f"no {kind} registered as {name!r}; registered {kind}s: {known}")
    dist = ep.dist.name if getattr(ep, "dist", None) is not None else "?"
    return Registered(kind, name, ep.value, dist)


def load(kind: str, name: str) -> type:
    """Import and return the class (or factory) registered as ``name``."""
    ep = _entries(kind).get(name) if isinstance(name, str) else None
    if ep is None:
        lookup(kind, name)  # raises with the list of known names
    try:
        return ep.load()
    except Exception as exc:  # a broken plugin must not look like a bench-file typo
        raise RegistryError(f"{kind} {name!r} is registered as {ep.value!r} but fails to load: "
                            f"{type(exc).__name__}: {exc}") from exc


def name_for_legacy_path(kind: str, dotted: str) -> str | None:
    """The registered name whose target is the old dotted path ``dotted`` of a spin-hil class.

    Bench files written before the registry named classes as
    ``drivers.keithley.Keithley6221Bias`` (or ``hil.drivers....``). Only a path
    that matches a registered target exactly is translated — nothing is imported.
    """
    if not isinstance(dotted, str) or "." not in dotted:
        return None
    candidates = {dotted, "hil." + dotted}
    for name, ep in _entries(kind).items():
        module, _, attr = ep.value.partition(":")
        registered = f"{module}.{attr}"
        # also accept the package-level re-export (hil.sim.twins.SimBiasSource)
        package = module.rpartition(".")[0]
        if candidates & {registered, f"{package}.{attr}"}:
            return name
    return None
