"""Physics label of a finished skyrmion process, from its trajectory alone.

The rule looks only at spins — never at α, t_w or the pulse:

1. Initial background s₀ = sign of the median S_z of the first frame.
2. Final state: background s = sign of the median S_z. If |median S_z| <
   0.5 there is no clear background (in-plane or half-reversed film):
   **mixed**.
3. Reversed regions: connected sets (4-neighbour, wrapping across periodic
   edges) of spins with S_z·s < 0, counting only regions of at least
   ``min_region`` spins (a lone thermally flipped spin is no skyrmion).
4. Q = topological charge of the final state (Berg–Lüscher).

   - no reversed region and |Q| < 0.5 → **collapse** (whatever the
     background: collapse often follows switching);
   - exactly one reversed region and Q within 0.25 of ±1 → one skyrmion:
     **breathing** if s = s₀, **switching** if s = −s₀;
   - anything else (several skyrmions, a region with Q ≉ ±1 such as a
     stripe domain or a domain wall across the film, Q ≠ 0 with no
     region) → **mixed**.

The process must be integrated until the label no longer changes (see
:func:`hil.sim.llg.simulate`); a state still in flight usually reads as mixed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hil.labels import BREATHING, COLLAPSE, MIXED, PHYSICS, SWITCHING
from hil.regions import MIN_REGION, sizes_in_frame

from .observables import topological_charge

#: The labels this rule gives (the one spelling lives in :mod:`hil.labels`).
LABELS = PHYSICS


@dataclass(frozen=True)
class StateSummary:
    """What the label rule reads off one state."""

    background: int  # +1, −1, or 0 when there is no clear background
    n_regions: int  # reversed regions of ≥ min_region spins
    region_sizes: tuple[int, ...]
    Q: float


def summarise_state(spins, periodic: bool = True, min_region: int = MIN_REGION) -> StateSummary:
    """Background, reversed regions and Q of one state (3, L, L)."""
    spins = np.asarray(spins, dtype=np.float64)
    if spins.ndim != 3 or spins.shape[0] != 3:
        raise ValueError(f"spins must have shape (3, L, L), got {spins.shape}")
    sz = spins[2]
    med = float(np.median(sz))
    background = 0 if abs(med) < 0.5 else (1 if med > 0 else -1)
    q = float(topological_charge(spins, periodic))
    if background == 0:
        return StateSummary(0, 0, (), q)
    sizes = sizes_in_frame(sz * background < 0, periodic, min_region)
    return StateSummary(background, len(sizes), tuple(sizes), q)


def label_state(initial_background: int, summary: StateSummary) -> str:
    """Apply the rule of this module to a summarised final state."""
    if initial_background not in (1, -1):
        raise ValueError(f"initial background must be +1 or −1, got {initial_background}")
    if summary.background == 0:
        return MIXED
    if summary.n_regions == 0:
        return COLLAPSE if abs(summary.Q) < 0.5 else MIXED
    if summary.n_regions == 1 and abs(abs(summary.Q) - 1) < 0.25:
        return BREATHING if summary.background == initial_background else SWITCHING
    return MIXED


def initial_background(initial_sz) -> int:
    """Sign of the median S_z of the first frame (L, L); raises if it is not clear."""
    med = float(np.median(np.asarray(initial_sz, dtype=np.float64)))
    if abs(med) < 0.5:
        raise ValueError(f"the first frame has no clear background (median S_z = {med:.3f})")
    return 1 if med > 0 else -1


def label_process(initial_sz, final_spins, periodic: bool = True, min_region: int = MIN_REGION) -> str:
    """Label a finished process: 'breathing', 'switching', 'collapse' or 'mixed'.

    ``initial_sz`` is S_z (L, L) of the first frame, ``final_spins`` the full
    final state (3, L, L); the rule is in this module's docstring.
    """
    return label_state(initial_background(initial_sz),
                       summarise_state(final_spins, periodic, min_region))
