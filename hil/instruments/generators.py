"""Arbitrary/pulse generators: Keysight 81160A and the 33500B series.

Voltages are the 50 Ω-load-setting values (the datasheets' "into 50 Ω").
The instrument's source impedance is 50 Ω whatever the *load setting*; the
setting only scales what it displays and accepts: with load setting R the
open-circuit EMF is V·(R+50)/R, so every voltage limit scales by
:func:`level_scale` = 2R/(R+50) relative to the 50 Ω values (×2 at High-Z).
A driver sets the load from the bench (``load = 50`` or ``"high-z"``),
reads it back, and computes its limits for it; the dialect checks levels
the same way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

#: What generators answer for an infinite (High-Z) load setting.
HIGH_Z = math.inf
SOURCE_IMPEDANCE = 50.0  # Ω


def load_ohms(load: float | str) -> float:
    """A bench file's ``load`` (ohms, or "high-z"/"inf") → ohms (``math.inf`` for High-Z)."""
    if isinstance(load, str):
        word = load.strip().lower().replace("_", "-")
        if word in ("high-z", "highz", "inf", "infinity"):
            return HIGH_Z
        try:
            load = float(word)
        except ValueError:
            raise ValueError(f"load {load!r}: give ohms (e.g. 50) or 'high-z'") from None
    load = float(load)
    if not load > 0 or math.isnan(load):
        raise ValueError(f"load {load!r} Ω must be > 0 (or 'high-z')")
    return load


def level_scale(load: float) -> float:
    """Factor on the 50 Ω voltage limits for load setting ``load`` Ω (2 at High-Z)."""
    return 2.0 if math.isinf(load) else 2.0 * load / (load + SOURCE_IMPEDANCE)


@dataclass(frozen=True)
class GeneratorSpec:
    key: str  # the dialect's registered name
    model: str
    idn: str  # what the twin answers to *IDN?
    options: str  # what the twin answers to *OPT?
    channels: tuple[int, ...]
    amplitude: tuple[float, float]  # Vpp at 50 Ω load setting
    offset: tuple[float, float]  # V at 50 Ω
    max_level: float  # V, |offset| + amplitude/2 at 50 Ω
    points: tuple[int, int]  # arbitrary-waveform points, standard memory
    load: tuple[float, float]  # Ω, settable load values (plus INF)
    delay: tuple[float, float]  # s, trigger/channel delay
    rate: tuple[float, float]  # 81160A: user-waveform repetition Hz; 33500B: sample rate Sa/s
    frequency: tuple[float, float]  # Hz, FREQ of the standard shapes
    dac_full_scale: int = 0  # 81160A: 14-bit DAC points; 0 where points are floats in ±1
    dac_rate: float = 0.0  # Sa/s, fixed DAC clock (81160A)
    arb_filters: tuple[str, ...] = ()
    references: dict[str, str] = field(default_factory=dict)


_UG81160 = "Keysight 81150A/81160A User's Guide, Remote Programming Reference"
_PYM81160 = "pymeasure 0.16 instruments/keysight/keysight81160A.py (hardware-tested)"
KEYSIGHT_81160A = GeneratorSpec(
    key="keysight81160a",
    model="81160A",
    idn="Keysight Technologies,81160A,TWIN000001,spin-hil-twin",
    options="0",
    channels=(1, 2),
    amplitude=(0.05, 5.0),
    offset=(-4.995, 4.995),
    max_level=5.0,
    points=(2, 16384),  # 524288 with the memory option
    load=(0.3, 1e6),
    delay=(0.0, 999.0),
    rate=(1e-6, 330e6),
    frequency=(1e-6, 330e6),
    dac_full_scale=8191,
    dac_rate=2.5e9,
    references={
        ":FORM:BORD NORM": f"{_UG81160}, :FORMat:BORDer (p. 349): binary :DATA:DAC blocks; NORM = MSB first, "
                           "the default, but a previous program can leave SWAP — so sent before every upload",
        ":TRIG1:COUN": f"{_PYM81160}: trigger_count ':TRIG{{ch}}:COUN' — the channel suffix on TRIGger; the "
                       "twin also accepts the old ':TRIG:COUN1' this project used to send",
        ":OUTP1:LOAD": f"{_PYM81160}: output_load ':OUTP{{ch}}:LOAD %e', 0.3 Ω to 1 MΩ (IMPEDANCE_RANGE); INF for High-Z",
        ":APPL1:<shape>": f"{_PYM81160}: ':APPL{{ch}}:SIN|SQU|PULS|USER freq, amp, offset', ':APPL{{ch}}:DC DEF, DEF, volts'",
        ":PULS:DEL1": f"{_UG81160}, :PULSe:DELay — documented for the pulse shape; that it delays USER waveforms "
                      "is not confirmed, so the driver puts the whole delay in the waveform's leading points "
                      "when it fits and uses :PULS:DEL only for the rest (see set_gaussian_pulse)",
        ":DATA1:DAC VOLATILE,<block>": f"{_PYM81160}: ':DATA{{ch}}:DAC VOLATILE,' + int16 block",
    },
)

_UG33500 = "Keysight 33500B Series Operating and Service Guide, SCPI reference"
_PYM33500 = "pymeasure 0.16 instruments/agilent/agilent33500.py (hardware-tested)"
KEYSIGHT_33500B = GeneratorSpec(
    key="keysight33500b",
    model="33500B",
    idn="Agilent Technologies,33522B,TWIN000001,spin-hil-twin",
    options="MEM,IQP",  # what a 33522B with the 16 MSa memory and IQ player options lists
    channels=(1, 2),
    amplitude=(1e-3, 10.0),
    offset=(-4.995, 4.995),
    max_level=5.0,
    points=(8, 1_000_000),  # 16 M with option MEM
    load=(1.0, 10e3),
    delay=(0.0, 1000.0),
    rate=(1e-6, 250e6),
    frequency=(1e-6, 30e6),
    arb_filters=("NORMal", "STEP", "OFF"),
    references={
        "OUTP1:LOAD": f"{_PYM33500}: output_load 'OUTP{{ch}}:LOAD'; {_UG33500}: 1 Ω to 10 kΩ or INFinity",
        "SOUR1:FUNC:ARB:FILT": f"{_PYM33500}: arb_filter 'SOUR{{ch}}:FUNC:ARB:FILT' NORM|STEP|OFF; NORMal (the "
                               "default) smooths edges — a pulse wants OFF (point to point) or STEP",
        "FORM:BORD": f"{_UG33500}: FORMat:BORDer NORMal|SWAPped for DATA:ARB binary blocks",
        "SOUR1:FREQ": f"{_PYM33500}: frequency 'SOUR{{ch}}:FREQ'",
        "*OPT?": f"{_UG33500}: option MEM (16 MSa per channel); without it 1 MSa — the driver checks the bench's "
                 "max_points against *OPT?",
    },
)
