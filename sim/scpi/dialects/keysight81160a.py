"""The Keysight 81160A's SCPI, fronting any :class:`hil.roles.PulseGenerator`.

User waveforms are 14-bit DAC points (``:DATA1:DAC VOLATILE,<block|ints>``,
±8191) or floats (``:DATA1 VOLATILE,<floats>``, ±1), replayed at
``:FREQ`` waveforms per second; ``:ARM:SOUR MAN`` with ``:TRIG1:COUN``
cycles makes ``*TRG`` play them. Ranges and identity come from
:data:`hil.instruments.KEYSIGHT_81160A`; level limits follow the load setting
(``:OUTP1:LOAD 50|INF``, see :mod:`hil.instruments.generators`). ``:APPL1:<shape>
freq, amp, offset`` sets shape and levels in one command (DEF keeps a value).

Output and trigger settings: ``:OUTP1:POL NORM|INV`` (an inverted output
plays offset − amplitude/2·point, so the twin's field flips with it),
``:ARM:SLOP[n] POS|NEG|EITH`` and ``:ARM:LEV[n] <V>`` of the shared external
input (stored and answered; the twin has no external trigger; the level takes
any finite volts, its range being in no reference found).

The DAC runs at a fixed 2.5 GSa/s: a waveform whose points come faster than
that reaches the twin resampled (linearly) onto the DAC's grid, as the
instrument plays it; slower points reach it as they are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hil.instruments import KEYSIGHT_81160A as SPEC
from hil.sim.scpi.dialect import Call, choice, flag, format_number, method, number
from hil.sim.scpi.dialects._generator import GeneratorDialect, polarity_sign
from hil.sim.scpi.errors import ScpiError

DAC_FULL_SCALE = SPEC.dac_full_scale
DAC_RATE = SPEC.dac_rate  # Sa/s, fixed
POINTS_RANGE = SPEC.points  # standard memory
_HIGH_Z = tuple(2 * v for v in SPEC.amplitude)  # the widest the load setting allows; check_levels narrows


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
    load: float = 50.0  # Ω, the load setting
    polarity: str = "NORM"
    dac: np.ndarray | None = None  # volatile user waveform, integers in ±8191


class Keysight81160ADialect(GeneratorDialect, spec=SPEC):
    COMMANDS = (
        choice("[:SOURce]:FUNCtion#[:SHAPe]", "function",
               ("SINusoid", "SQUare", "RAMP", "PULSe", "NOISe", "DC", "USER"), scope="channel"),
        method("[:SOURce]:FUNCtion#:USER", "_user_waveform"),
        number("[:SOURce]:FREQuency#[:CW|:FIXed]", "frequency", SPEC.rate, unit="HZ", scope="channel"),
        number("[:SOURce]:VOLTage#[:LEVel][:IMMediate][:AMPLitude]", "amplitude", _HIGH_Z, unit="V",
               scope="channel", check="check_levels"),
        number("[:SOURce]:VOLTage#[:LEVel][:IMMediate]:OFFSet", "offset", (-2 * SPEC.offset[1], 2 * SPEC.offset[1]),
               unit="V", scope="channel", check="check_levels"),
        number("[:SOURce]:PULSe:DELay#[:VALue]", "delay", SPEC.delay, unit="S", scope="channel"),
        method(":OUTPut#:LOAD[:VALue]", "load_handler"),
        choice(":OUTPut#:POLarity", "polarity", SPEC.polarities, scope="channel"),
        method("[:SOURce]:APPLy#:SINusoid|SQUare|RAMP|PULSe|NOISe|DC|USER", "_apply"),
        method("[:SOURce]:DATA#:DAC", "_data_dac", query=False),
        method("[:SOURce]:DATA#[:DATA]", "_data_float", query=False),
        choice(":ARM:SOURce#", "arm_source", ("IMMediate", "INTernal2", "EXTernal", "MANual"), scope="channel"),
        # the external input is shared: with or without a suffix, one slope and one level
        choice(":ARM:SLOPe#", "arm_slope", SPEC.trigger_slopes),
        method(":ARM:LEVel#", "_arm_level"),
        # :TRIG1:COUN (pymeasure, hardware-tested) and :TRIG:COUN1 (this project's old form) alike
        number(":TRIGger#:COUNt#", "cycles", (1, 2147483647), integer=True, scope="channel"),
        flag(":OUTPut#[:STATe]", "output", scope="channel", apply="apply_output"),
        choice(":FORMat:BORDer", "byte_order", ("NORMal", "SWAPped")),
    )

    def new_output(self) -> Output81160A:
        return Output81160A()

    def reset(self) -> None:
        self.state.byte_order = "NORM"
        self.state.arm_slope = "POS"
        self.state.arm_level = 1.0  # V, the twin's *RST value (no reference gives the instrument's)
        super().reset()

    def triggered(self, output: Output81160A) -> bool:
        return output.arm_source == "MAN"

    def waveform(self, output: Output81160A) -> tuple[np.ndarray, float]:
        if output.function != "USER" or output.dac is None:
            raise ScpiError(-221, "output 1 plays no volatile user waveform (:FUNC1 USER after :DATA1)")
        volts = output.offset + polarity_sign(output) * 0.5 * output.amplitude * output.dac / DAC_FULL_SCALE
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

    def _arm_level(self, call: Call) -> str | None:
        """``:ARM:LEV <volts>``: the external input's threshold, any finite volts (no reference gives the range)."""
        if call.query:
            call.count(0)
            return format_number(self.state.arm_level)
        call.count(1)
        value = call.number(0, "V")
        if not math.isfinite(value):
            raise ScpiError(-222, f"trigger level {value:g} V")
        self.state.arm_level = value
        return None

    def _apply(self, call: Call) -> str | None:
        """``:APPL1:SIN 1e6, 1, 0``: shape, then frequency, amplitude, offset (``DEF`` keeps one).
        The query answers ``"SIN +1.0E+06,+1.0E+00,+0.0E+00"``-like text of the present setting."""
        output = self.target(call, "channel")
        shape = call.header.rstrip("?").rsplit(":", 1)[-1][:4]
        shape = {"SINU": "SIN", "SQUA": "SQU"}.get(shape, shape)
        if call.query:
            return f'"{output.function} {output.frequency:E},{output.amplitude:E},{output.offset:E}"'
        call.count(0, 3)
        values = []
        for i in range(len(call.args)):
            word = (call.args[i].text or "").upper()
            values.append(None if word in ("DEF", "DEFAULT") else call.number(i))
        values += [None] * (3 - len(values))
        if shape == "DC":  # :APPL:DC DEF, DEF, <volts>
            values = [None, None, values[2]]
        frequency, amplitude, offset = values
        if frequency is not None and not SPEC.rate[0] <= frequency <= SPEC.rate[1]:
            raise ScpiError(-222, f"frequency {frequency:g} Hz outside [{SPEC.rate[0]:g}, {SPEC.rate[1]:g}] Hz")
        new_amplitude = output.amplitude if amplitude is None else amplitude
        new_offset = output.offset if offset is None else offset
        self.check_pair(output, new_amplitude, new_offset)
        output.function = shape
        if frequency is not None:
            output.frequency = frequency
        output.amplitude, output.offset = new_amplitude, new_offset
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
