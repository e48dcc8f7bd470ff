"""The Keysight 81160A's SCPI, fronting any :class:`hil.roles.PulseGenerator`.

User waveforms are 14-bit DAC points (``:DATA1:DAC VOLATILE,<block|ints>``,
±8191) or floats (``:DATA1 VOLATILE,<floats>``, ±1), replayed at
``:FREQ`` waveforms per second; ``:ARM:SOUR MAN`` with ``:TRIG:COUN``
cycles makes ``*TRG`` play them. Ranges are the 50 Ω ones.

The DAC runs at a fixed 2.5 GSa/s: a waveform whose points come faster than
that reaches the twin resampled (linearly) onto the DAC's grid, as the
instrument plays it; slower points reach it as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hil.sim.scpi.dialect import Call, choice, flag, method, number
from hil.sim.scpi.dialects._generator import GeneratorDialect
from hil.sim.scpi.errors import ScpiError

DAC_FULL_SCALE = 8191
DAC_RATE = 2.5e9  # Sa/s, fixed
POINTS_RANGE = (2, 16384)  # standard memory


@dataclass
class Output81160A:
    """One output's settings at ``*RST`` (those the twin's pulse depends on)."""

    function: str = "SIN"
    user: str = "VOLATILE"
    frequency: float = 1e6  # Hz
    amplitude: float = 0.5  # Vpp
    offset: float = 0.0  # V
    delay: float = 0.0  # s
    arm_source: str = "IMM"
    cycles: int = 1
    output: bool = False
    dac: np.ndarray | None = None  # volatile user waveform, integers in ±8191


class Keysight81160ADialect(GeneratorDialect):
    name = "keysight81160a"
    idn = "Keysight Technologies,81160A,TWIN000001,spin-hil-twin"

    COMMANDS = (
        choice("[:SOURce]:FUNCtion#[:SHAPe]", "function",
               ("SINusoid", "SQUare", "RAMP", "PULSe", "NOISe", "DC", "USER"), scope="channel"),
        method("[:SOURce]:FUNCtion#:USER", "_user_waveform"),
        number("[:SOURce]:FREQuency#[:CW|:FIXed]", "frequency", (1e-6, 330e6), unit="HZ", scope="channel"),
        number("[:SOURce]:VOLTage#[:LEVel][:IMMediate][:AMPLitude]", "amplitude", (0.05, 5.0), unit="V",
               scope="channel", check="check_levels"),
        number("[:SOURce]:VOLTage#[:LEVel][:IMMediate]:OFFSet", "offset", (-4.995, 4.995), unit="V",
               scope="channel", check="check_levels"),
        number("[:SOURce]:PULSe:DELay#[:VALue]", "delay", (0.0, 999.0), unit="S", scope="channel"),
        method("[:SOURce]:DATA#:DAC", "_data_dac", query=False),
        method("[:SOURce]:DATA#[:DATA]", "_data_float", query=False),
        choice(":ARM:SOURce#", "arm_source", ("IMMediate", "INTernal2", "EXTernal", "MANual"), scope="channel"),
        number(":TRIGger:COUNt#", "cycles", (1, 2147483647), integer=True, scope="channel"),
        flag(":OUTPut#[:STATe]", "output", scope="channel", apply="apply_output"),
        choice(":FORMat:BORDer", "byte_order", ("NORMal", "SWAPped")),
    )

    def new_output(self) -> Output81160A:
        return Output81160A()

    def reset(self) -> None:
        self.state.byte_order = "NORM"
        super().reset()

    def triggered(self, output: Output81160A) -> bool:
        return output.arm_source == "MAN"

    def waveform(self, output: Output81160A) -> tuple[np.ndarray, float]:
        if output.function != "USER" or output.dac is None:
            raise ScpiError(-221, "output 1 plays no volatile user waveform (:FUNC1 USER after :DATA1)")
        volts = output.offset + 0.5 * output.amplitude * output.dac / DAC_FULL_SCALE
        rate = output.frequency * output.dac.size
        if rate <= DAC_RATE:
            return volts, rate
        period = 1.0 / output.frequency
        dac_times = np.arange(int(np.ceil(period * DAC_RATE))) / DAC_RATE
        return np.interp(dac_times, np.arange(volts.size) / rate, volts), DAC_RATE

    # -- handlers ---------------------------------------------------------------

    def _user_waveform(self, call: Call) -> str | None:
        output = self.target(call, "channel")
        if call.query:
            return output.user
        call.count(1)
        name = call.text(0).upper()
        if name != "VOLATILE":
            raise ScpiError(-224, f"user waveform {name!r} not stored (only VOLATILE here)")
        output.user = name
        return None

    def _store(self, call: Call, points: np.ndarray) -> None:
        if not POINTS_RANGE[0] <= points.size <= POINTS_RANGE[1]:
            raise ScpiError(-222, f"{points.size} points; the 81160A holds {POINTS_RANGE[0]} to {POINTS_RANGE[1]}")
        if np.any(np.abs(points) > DAC_FULL_SCALE):
            raise ScpiError(-222, f"DAC points must be within ±{DAC_FULL_SCALE}")
        self.target(call, "channel").dac = points.astype(np.int64)

    def _data_dac(self, call: Call) -> None:
        call.count(2, 1 << 20)
        call.word(0, ("VOLATILE",))
        if call.args[1].block is not None:
            call.count(2)
            raw = call.block(1)
            if len(raw) % 2:
                raise ScpiError(-161, "odd byte count for 16-bit points")
            dtype = ">i2" if self.state.byte_order == "NORM" else "<i2"
            points = np.frombuffer(raw, dtype=dtype)
        else:
            values = [call.number(i) for i in range(1, len(call.args))]
            if any(v != round(v) for v in values):
                raise ScpiError(-104, "DAC points are integers")
            points = np.array(values)
        self._store(call, points)

    def _data_float(self, call: Call) -> None:
        call.count(2, 1 << 20)
        call.word(0, ("VOLATILE",))
        values = np.array([call.number(i) for i in range(1, len(call.args))])
        if np.any(np.abs(values) > 1.0):
            raise ScpiError(-222, "user waveform values must be within ±1")
        self._store(call, np.rint(values * DAC_FULL_SCALE))
