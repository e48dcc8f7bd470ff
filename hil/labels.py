"""The names of skyrmion processes, spelled once for every layer.

The physics rule (:mod:`hil.sim.llg.labels`) reads one of :data:`PHYSICS`
off a finished process; the classifier learns :data:`CLASSES` (a mixed
process has no single course to learn) and answers :data:`UNKNOWN` when no
class reaches its threshold. A mixed process counts as right when the
network answers unknown. The stream, the CLI and the plots print these same
strings, so a label written anywhere compares equal to one read anywhere.
"""

from __future__ import annotations

BREATHING = "breathing"
SWITCHING = "switching"
COLLAPSE = "collapse"
MIXED = "mixed"

#: What the classifier can answer with confidence, in its output order.
CLASSES: tuple[str, ...] = (BREATHING, SWITCHING, COLLAPSE)
#: What the physics rule can read off a finished process.
PHYSICS: tuple[str, ...] = CLASSES + (MIXED,)
#: The classifier's answer when no class reaches the threshold.
UNKNOWN = "mixed/unknown"

#: Plot colour per label (matplotlib hex), physics labels and the classifier's unknown.
COLOURS: dict[str, str] = {BREATHING: "#4c72b0", SWITCHING: "#dd8452", COLLAPSE: "#55a868", MIXED: "#8c8c8c",
                           UNKNOWN: "#d62728"}
#: One letter per label, for a row of live labels in a terminal.
LETTERS: dict[str, str] = {BREATHING: "B", SWITCHING: "S", COLLAPSE: "C", MIXED: "M", UNKNOWN: "?"}


def agrees(answer: str, physics: str, classes: tuple[str, ...] | list[str] = CLASSES) -> bool:
    """Whether a classifier ``answer`` agrees with the ``physics`` label.

    Equal labels agree; a mixed process agrees with any answer outside the
    classifier's ``classes`` (its unknown).
    """
    return answer == physics or (physics == MIXED and answer not in classes)
