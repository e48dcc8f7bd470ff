"""Twins as SCPI instruments: the real drivers, through real PyVISA, talk to simulated ones.

``serve_twins`` fronts any object satisfying a role of :mod:`hil.roles` with
the SCPI dialect of a real model (``DIALECTS``), on TCP loopback.
"""

from __future__ import annotations

from hil.sim.scpi.dialects import DIALECTS, get_dialect
from hil.sim.scpi.server import TwinServerGroup, serve_twins

__all__ = ["DIALECTS", "TwinServerGroup", "get_dialect", "serve_twins"]
