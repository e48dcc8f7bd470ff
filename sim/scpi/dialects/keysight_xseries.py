"""The Keysight X-series (N9020A MXA and kin) Spectrum Analyzer mode's SCPI, fronting any
:class:`hil.roles.SpectrumAnalyser`. Mode ``:INST:SEL SA`` and measurement ``:CONF:SAN`` (Swept SA)
are the only ones the twin has; ``:UNIT:POW`` converts the trace.

Traces: ``:FORM ASC|REAL,32|REAL,64`` and ``:FORM:BORD NORM|SWAP`` (NORMal
is big-endian, as on the instrument); ``:TRAC:DATA? TRACE1``.
"""

from __future__ import annotations

import numpy as np

from hil.instruments import KEYSIGHT_XSERIES as SPEC
from hil.sim.scpi.dialect import Call, choice, method
from hil.sim.scpi.dialects._analyser import AnalyserDialect, analyser_commands, ieee_block
from hil.sim.scpi.errors import ScpiError


class KeysightXSeriesDialect(AnalyserDialect, spec=SPEC):
    COMMANDS = analyser_commands(SPEC) + (
        method(":FORMat[:TRACe][:DATA]", "_format"),
        choice(":FORMat:BORDer", "byte_order", ("NORMal", "SWAPped")),
        method(":TRACe[:DATA]", "trace_reply", write=False),
        choice(":INSTrument[:SELect]", "mode", ("SA",)),  # the twin has the Spectrum Analyzer mode only
        method(":CONFigure:SANalyzer[:NDEFault]", "_configure_swept", query=False),
        method(":CONFigure", "_measurement", write=False),
    )

    def reset(self) -> None:
        super().reset()
        self.state.mode = "SA"  # *RST keeps the mode (the instrument's Mode Preset is per mode)

    def _configure_swept(self, call: Call) -> None:
        """``:CONF:SAN``: the Swept SA measurement (the only one here), its settings as they are."""
        call.count(0)

    def _measurement(self, call: Call) -> str:
        call.count(0)
        return "SAN"

    def _format(self, call: Call) -> str | None:
        if call.query:
            return {"ASC": "ASC,8", "REAL32": "REAL,32", "REAL64": "REAL,64"}[self.state.format]
        call.count(1, 2)
        kind = call.word(0, ("ASCii", "REAL"))
        bits = int(call.number(1)) if len(call.args) == 2 else (8 if kind == "ASC" else 32)
        if (kind, bits) not in (("ASC", 8), ("REAL", 32), ("REAL", 64)):
            raise ScpiError(-224, f"format {kind},{bits}")
        self.state.format = "ASC" if kind == "ASC" else f"REAL{bits}"
        return None

    def encode_trace(self, values: np.ndarray) -> bytes:
        order = ">" if self.state.byte_order == "NORM" else "<"
        size = "4" if self.state.format == "REAL32" else "8"
        return ieee_block(values.astype(order + "f" + size).tobytes())
