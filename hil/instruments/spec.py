"""What every instrument spec holds, whatever the instrument: its identity and its references."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class InstrumentSpec:
    """Base of the specs: the dialect's registered name, the model, what the twin answers to
    ``*IDN?`` and ``*OPT?``, and, per doubtful command, where it was settled (``references``,
    keyword-only, so a subclass's own fields follow ``options``)."""

    key: str  # the dialect's registered name
    model: str
    idn: str  # what the twin answers to *IDN?
    options: str  # what the twin answers to *OPT?
    references: dict[str, str] = field(default_factory=dict, kw_only=True)
