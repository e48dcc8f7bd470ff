"""The Keysight X-series (N9020A MXA and kin) Spectrum Analyzer mode's SCPI, fronting any
:class:`hil.roles.SpectrumAnalyser`.

Traces: ``:FORM ASC|REAL,32|REAL,64`` and ``:FORM:BORD NORM|SWAP`` (NORMal
is big-endian, as on the instrument); ``:TRAC:DATA? TRACE1``.
"""

from __future__ import annotations

import numpy as np

from hil.sim.scpi.dialect import Call, choice, method
from hil.sim.scpi.dialects._analyser import AnalyserDialect, AnalyserRanges, analyser_commands, ieee_block
from hil.sim.scpi.errors import ScpiError

RANGES = AnalyserRanges(frequency=(0.0, 26.5e9), rbw=(1.0, 8e6), vbw=(1.0, 50e6), points=(1, 40001),
                        sweep_time=(1e-6, 6000.0), min_span=10.0, default_points=1001)


class KeysightXSeriesDialect(AnalyserDialect):
    name = "keysight_xseries"
    idn = "Keysight Technologies,N9020A,TWIN000001,spin-hil-twin"
    RANGES = RANGES

    COMMANDS = analyser_commands(RANGES) + (
        method(":FORMat[:TRACe][:DATA]", "_format"),
        choice(":FORMat:BORDer", "byte_order", ("NORMal", "SWAPped")),
        method(":TRACe[:DATA]", "trace_reply", write=False),
    )

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
