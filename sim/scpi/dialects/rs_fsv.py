"""The R&S FSV spectrum mode's SCPI, fronting any :class:`hil.roles.SpectrumAnalyser`.

Traces: ``FORM ASC|REAL,32``; REAL,32 blocks are little-endian (the FSV
has no byte-order setting); ``TRAC? TRACE1`` or ``TRAC:DATA? TRACE1``.
"""

from __future__ import annotations

import numpy as np

from hil.instruments import RS_FSV as SPEC
from hil.sim.scpi.dialect import Call, method
from hil.sim.scpi.dialects._analyser import AnalyserDialect, analyser_commands, ieee_block
from hil.sim.scpi.errors import ScpiError


class RohdeSchwarzFSVDialect(AnalyserDialect, spec=SPEC):
    COMMANDS = analyser_commands(SPEC) + (
        method("FORMat[:DATA]", "_format"),
        method("TRACe#[:DATA]", "trace_reply", write=False),
    )

    def _format(self, call: Call) -> str | None:
        if call.query:
            return "REAL,32" if self.state.format == "REAL32" else "ASC,0"
        call.count(1, 2)
        kind = call.word(0, ("ASCii", "REAL"))
        bits = int(call.number(1)) if len(call.args) == 2 else 32
        if kind == "REAL" and bits != 32:
            raise ScpiError(-224, f"REAL,{bits}: the FSV sends REAL,32")
        self.state.format = "ASC" if kind == "ASC" else "REAL32"
        return None

    def encode_trace(self, values: np.ndarray) -> bytes:
        return ieee_block(values.astype("<f4").tobytes())
