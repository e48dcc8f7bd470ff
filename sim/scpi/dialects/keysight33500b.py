"""The Keysight 33500B series' SCPI, fronting any :class:`hil.roles.PulseGenerator`.

Arbitrary waveforms are named float points in ±1 in each output's volatile
memory (``SOUR1:DATA:ARB <name>,<block|floats>``, block byte order from
``FORM:BORD``), selected with ``FUNC:ARB``, played at ``FUNC:ARB:SRAT``.
A triggered burst (``BURS:STAT ON``, ``BURS:MODE TRIG``, ``TRIG:SOUR BUS``)
makes ``*TRG`` play ``BURS:NCYC`` cycles after ``TRIG:DEL``. Ranges and
identity come from :data:`hil.instruments.KEYSIGHT_33500B` (the 30 MHz
models'); level limits follow the load setting (``OUTP1:LOAD 50|INF``).
``FUNC:ARB:FILT NORM|STEP|OFF`` is kept (the twin plays points as given, OFF).
``OUTP1:POL NORM|INV`` inverts the output about its offset (so the twin's
field flips with it); ``TRIG1:SLOP POS|NEG``, ``OUTP:SYNC ON|OFF`` and
``OUTP:SYNC:SOUR CH1|CH2`` are stored and answered (the twin has no external
trigger and no sync connector). There is no ``TRIG:LEV``, as on the instrument.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from hil.instruments import KEYSIGHT_33500B as SPEC
from hil.sim.scpi.dialect import Call, choice, flag, method, number
from hil.sim.scpi.dialects._generator import GeneratorDialect, polarity_sign
from hil.sim.scpi.errors import ScpiError

POINTS_RANGE = SPEC.points  # standard memory per output
_HIGH_Z = tuple(2 * v for v in SPEC.amplitude)  # the widest the load setting allows; check_levels narrows
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,11}")


@dataclass
class Output33500B:
    """One output's settings at ``*RST`` (those the twin's pulse depends on)."""

    function: str = "SIN"
    arb: str | None = None
    srate: float = 40e3  # Sa/s
    amplitude: float = 0.1  # Vpp
    offset: float = 0.0  # V
    burst: bool = False
    burst_mode: str = "TRIG"
    cycles: int = 1
    trigger_source: str = "IMM"
    delay: float = 0.0  # s
    output: bool = False
    load: float = 50.0  # Ω, the load setting
    polarity: str = "NORM"
    trigger_slope: str = "POS"
    frequency: float = 1e3  # Hz, of the standard shapes
    arb_filter: str = "NORM"
    volatile: dict[str, np.ndarray] = field(default_factory=dict)  # name → points in ±1


class Keysight33500BDialect(GeneratorDialect, spec=SPEC):
    COMMANDS = (
        choice("[SOURce#]:FUNCtion[:SHAPe]", "function",
               ("SINusoid", "SQUare", "TRIangle", "RAMP", "PULSe", "PRBS", "NOISe", "ARB", "DC"), scope="channel"),
        method("[SOURce#]:FUNCtion[:SHAPe]:ARBitrary", "_select_arb"),
        number("[SOURce#]:FUNCtion[:SHAPe]:ARBitrary:SRATe", "srate", SPEC.rate, unit="SA/S", scope="channel"),
        choice("[SOURce#]:FUNCtion[:SHAPe]:ARBitrary:FILTer", "arb_filter", SPEC.arb_filters, scope="channel"),
        number("[SOURce#]:FREQuency[:CW|:FIXed]", "frequency", SPEC.frequency, unit="HZ", scope="channel"),
        method("OUTPut#:LOAD", "load_handler"),
        method("[SOURce#]:DATA:ARBitrary", "_data_arb", query=False),
        method("[SOURce#]:DATA:VOLatile:CLEar", "_clear_volatile", query=False),
        number("[SOURce#]:VOLTage[:LEVel][:IMMediate][:AMPLitude]", "amplitude", _HIGH_Z, unit="V",
               scope="channel", check="check_levels"),
        number("[SOURce#]:VOLTage[:LEVel][:IMMediate]:OFFSet", "offset", (-2 * SPEC.offset[1], 2 * SPEC.offset[1]),
               unit="V", scope="channel", check="check_levels"),
        flag("[SOURce#]:BURSt:STATe", "burst", scope="channel"),
        choice("[SOURce#]:BURSt:MODE", "burst_mode", ("TRIGgered", "GATed"), scope="channel"),
        number("[SOURce#]:BURSt:NCYCles", "cycles", (1, 100_000_000), integer=True, scope="channel"),
        choice("TRIGger#:SOURce", "trigger_source", ("IMMediate", "EXTernal", "TIMer", "BUS"), scope="channel"),
        choice("TRIGger#:SLOPe", "trigger_slope", SPEC.trigger_slopes, scope="channel"),
        choice("OUTPut#:POLarity", "polarity", SPEC.polarities, scope="channel"),
        flag("OUTPut#:SYNC", "sync"),
        choice("OUTPut#:SYNC:SOURce", "sync_source", SPEC.sync_sources),
        number("TRIGger#:DELay", "delay", SPEC.delay, unit="S", scope="channel"),
        flag("OUTPut#[:STATe]", "output", scope="channel", apply="apply_output"),
        choice("FORMat:BORDer", "byte_order", ("NORMal", "SWAPped")),
    )

    def new_output(self) -> Output33500B:
        return Output33500B()

    def reset(self) -> None:
        self.state.byte_order = "NORM"
        self.state.sync = True  # the twin's *RST values (the front-panel Sync on, routed to output 1)
        self.state.sync_source = "CH1"
        super().reset()

    def triggered(self, output: Output33500B) -> bool:
        return output.burst and output.burst_mode == "TRIG" and output.trigger_source == "BUS"

    def waveform(self, output: Output33500B) -> tuple[np.ndarray, float]:
        if output.function != "ARB" or output.arb not in output.volatile:
            raise ScpiError(-221, "output 1 plays no arbitrary waveform (FUNC ARB after DATA:ARB and FUNC:ARB)")
        points = output.volatile[output.arb]
        return output.offset + polarity_sign(output) * 0.5 * output.amplitude * points, output.srate

    # -- handlers ---------------------------------------------------------------

    def _select_arb(self, call: Call) -> str | None:
        output = self.target(call, "channel")
        if call.query:
            return f'"{output.arb or ""}"'
        call.count(1)
        name = (call.args[0].string or call.text(0)).upper()
        if name not in output.volatile:
            raise ScpiError(-224, f"no arbitrary waveform {name!r} in volatile memory")
        output.arb = name
        return None

    def _data_arb(self, call: Call) -> None:
        call.count(2, POINTS_RANGE[1] + 1)
        output = self.target(call, "channel")
        name = call.text(0).upper()
        if not _NAME.fullmatch(name):
            raise ScpiError(-224, f"arb name {name!r}: a letter, then up to 11 letters, digits or _")
        if name in output.volatile:
            raise ScpiError(-221, f"{name} already in volatile memory; DATA:VOL:CLE first")
        if call.args[1].block is not None:
            call.count(2)
            raw = call.block(1)
            if len(raw) % 4:
                raise ScpiError(-161, "byte count is not a whole number of 32-bit floats")
            dtype = ">f4" if self.state.byte_order == "NORM" else "<f4"
            points = np.frombuffer(raw, dtype=dtype).astype(np.float64)
        else:
            points = np.array([call.number(i) for i in range(1, len(call.args))])
        if not POINTS_RANGE[0] <= points.size <= POINTS_RANGE[1]:
            raise ScpiError(-222, f"{points.size} points; the 33500B takes {POINTS_RANGE[0]} to {POINTS_RANGE[1]}")
        if not np.all(np.isfinite(points)) or np.any(np.abs(points) > 1.0):
            raise ScpiError(-222, "arbitrary points must be within ±1")
        output.volatile[name] = points

    def _clear_volatile(self, call: Call) -> None:
        call.count(0)
        output = self.target(call, "channel")
        output.volatile.clear()
        output.arb = None
