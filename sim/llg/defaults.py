"""The LLG twin's default numbers, each written once (SI: s; lattice size in spins per side).

Why one module: the time step, the lattice size and the frame times were
repeated in the integrator, the sample, the diagram, the bench factory and
the CLI, where a change in one place silently missed the others. Everything
that needs a default imports it from here.
"""

from __future__ import annotations

from .units import FS, PS

#: Heun time step, s: stable at the reference field pulse, 1–5 fs is usable (benchmarks/RESULTS.md).
DT = 2 * FS
#: Lattice size L of the reference sample (L × L spins).
SIZE = 100
#: Centre t_p of the field pulse after the trigger, s.
T_P = 40 * PS
#: Integration past the pulse (5 t_w after t_p) before the label is read, s.
SETTLE = 40 * PS
#: Default frames: every 15 ps over 105 ps from the trigger (8 frames), s.
FRAMES_15PS = tuple(float(t) * PS for t in range(0, 106, 15))
#: Denser frames: every 5 ps over 90 ps (19 frames), s.
FRAMES_5PS = tuple(float(t) * PS for t in range(0, 91, 5))
#: The frame sets by the names the CLI offers (``--frames 15ps``).
FRAME_SETS: dict[str, tuple[float, ...]] = {"15ps": FRAMES_15PS, "5ps": FRAMES_5PS}
