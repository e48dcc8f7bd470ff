"""Arbitrary/pulse generators: Keysight 81160A and the 33500B series.

Voltages are the 50 Ω-load-setting values (the datasheets' "into 50 Ω").
The instrument's source impedance is 50 Ω whatever the *load setting*; the
setting only scales what it displays and accepts: with load setting R the
open-circuit EMF is V·(R+50)/R, so every voltage limit scales by
:func:`level_scale` = 2R/(R+50) relative to the 50 Ω values (×2 at High-Z).
A driver sets the load from the bench (``load = 50`` or ``"high-z"``),
reads it back, and computes its limits for it; the dialect checks levels
the same way.

Besides ranges, each spec lists the bench-settable output and trigger
settings the driver sends and reads back (``commands``: setting → the
driver's SCPI header, ``{ch}`` for the output number), the words each one
takes (``polarities``, ``trigger_slopes``, ``sync_sources``, written as the
manuals write them), and, per setting the driver does *not* drive,
why not (``not_driven``). Every command is cited in ``references``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from hil.instruments.spec import InstrumentSpec

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


#: Bench words → the manuals' words (short form = the capitals).
BENCH_WORDS = {"normal": "NORMal", "inverted": "INVerted", "positive": "POSitive", "negative": "NEGative",
               "either": "EITHer"}


def short_form(word: str) -> str:
    """``NORMal`` → ``NORM``: what an instrument answers to a query of a word setting."""
    return "".join(c for c in word if not c.islower())


@dataclass(frozen=True)
class GeneratorSpec(InstrumentSpec):
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
    #: setting → the driver's SCPI header (``{ch}``: output number); a setting absent here is not driven.
    commands: dict[str, str] = field(default_factory=dict)
    polarities: tuple[str, ...] = ("NORMal", "INVerted")
    trigger_slopes: tuple[str, ...] = ("POSitive", "NEGative")
    #: V, the trigger input's threshold range; None where no reference gives it (the instrument checks).
    trigger_level: tuple[float, float] | None = None
    sync_sources: tuple[str, ...] = ()
    #: Models (from *IDN?) known to have two outputs, hence an OUTP:SYNC:SOUR to route.
    two_channel_models: tuple[str, ...] = ()
    #: *OPT? code → what it means, where a reference gives it.
    option_codes: dict[str, str] = field(default_factory=dict)
    #: bench option → why the driver refuses it on this model.
    not_driven: dict[str, str] = field(default_factory=dict)


_UG81160 = "Keysight 81150A/81160A User's Guide, Remote Programming Reference"
_PYM81160 = "pymeasure 0.16 instruments/keysight/keysight81160A.py (hardware-tested)"
_PIEC81150 = ("PIEC lab drivers (github.com/ElPsyKurisu/piec) src/piec/drivers/awg/k_81150a.py, a hand-written "
              "driver for the lab's 81150A (same command set as the 81160A)")
_ASMC81160 = ("ASMC metrology software (github.com/AZuikov/ASMC) "
              "ASMC.Devices/IEEE/DeviceDriversCode/Generator/Keysight/81160A.cs")
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
    commands={
        "load": ":OUTP{ch}:LOAD",
        "polarity": ":OUTP{ch}:POL",
        "trigger_slope": ":ARM:SLOP",
        "trigger_level": ":ARM:LEV",
    },
    polarities=("NORMal", "INVerted"),
    trigger_slopes=("POSitive", "NEGative", "EITHer"),
    trigger_level=None,
    option_codes={"001": "one output (81160A-001)", "002": "two outputs (81160A-002)",
                  "330": "330 Mbit/s pattern licence", "660": "660 Mbit/s pattern licence"},
    not_driven={
        "sync_out": "the 81160A routes its 'Logical Trigger Signal' to Sync Out A or B (User's Guide §3.2.18, "
                    "p. 126), but no reference found gives the routing command; only its level "
                    "(:OUTPut[1|2]:STRobe:VOLTage TTL|ECL|SYM4vpp, p. 126) is documented there",
    },
    references={
        ":FORM:BORD NORM": f"{_UG81160}, :FORMat:BORDer (p. 349): binary :DATA:DAC blocks; NORM = MSB first, "
                           "the default, but a previous program can leave SWAP — so sent before every upload",
        ":TRIG1:COUN": f"{_PYM81160}: trigger_count ':TRIG{{ch}}:COUN' — the channel suffix on TRIGger; the "
                       "twin also accepts the old ':TRIG:COUN1' this project used to send",
        ":OUTP1:LOAD": f"{_PYM81160}: output_load ':OUTP{{ch}}:LOAD %e', 0.3 Ω to 1 MΩ (IMPEDANCE_RANGE); INF for High-Z",
        ":APPL1:<shape>": f"{_PYM81160}: ':APPL{{ch}}:SIN|SQU|PULS|USER freq, amp, offset', ':APPL{{ch}}:DC DEF, DEF, volts'",
        ":PULS:DEL1": f"{_UG81160}, :PULSe:DELay[1|2] — documented for the pulse shape; no reference found says "
                      "whether it delays USER waveforms (searched: the User's Guide pages available, pymeasure, "
                      "PIEC). So the driver does not rely on it: the whole delay is the waveform's own leading "
                      "points, and :PULS:DEL1 0 is sent with every upload, so a delay left by a previous program "
                      "cannot add to it whichever way the instrument behaves",
        ":DATA1:DAC VOLATILE,<block>": f"{_PYM81160}: ':DATA{{ch}}:DAC VOLATILE,' + int16 block",
        ":OUTP1:POL": f"{_PIEC81150}: set_polarity ':OUTP{{ch}}:POL NORM|INV' (polarity = ['NORM', 'INV']). "
                      "Which level the 81160A inverts about (0 V or the offset) is in no reference found, so "
                      "with polarity inverted the driver plays the pulse at offset 0, where both agree",
        ":ARM:SLOP": f"{_PIEC81150}: set_trigger_slope ':ARM:SLOP POS|NEG|EITH' — no channel suffix (the "
                     "external input is shared; ':ARM:SOUR{{ch}}' is per output)",
        ":ARM:LEV": f"{_PIEC81150}: set_trigger_level ':ARM:LEV <volts>'; no reference found gives its range, so "
                    "the driver refuses only non-finite values itself, then reads the level back and reads the "
                    "error queue (the instrument's own range check)",
        ":ARM:SOUR1 MAN": f"{_PYM81160}: trigger_mode ':ARM:SOUR{{ch}}' IMM|INT2|EXT|MAN",
        "*OPT?": f"{_ASMC81160}: option list 81160A-001 (1 channel), -002 (2 channels), -330/-660 (pattern "
                 "licences). The exact *OPT? reply text is in no reference found (that code compares "
                 "'Opt. 001'), so the driver reads *OPT?, keeps it, and refuses output 2 only when the reply "
                 "names 001 and not 002; the memory option's code is in no reference found, so max_points is "
                 "not checked against *OPT? (a refused upload still shows in the error queue)",
    },
)

_UG33500 = "Keysight 33500B Series Operating and Service Guide, SCPI reference"
_PYM33500 = "pymeasure 0.16 instruments/agilent/agilent33500.py (hardware-tested)"
_QC33XXX = ("QCoDeS (github.com/microsoft/Qcodes) src/qcodes/instrument_drivers/Keysight/KeysightAgilent_33XXX.py "
            "at 2851419f (hardware-tested; its example notebook runs a 33522B)")
_SDL33500 = ("Keysight's SDL command definitions for the 33500B, as generated into "
             "github.com/QuLab-IT/Instrumental src/instrumental/drivers/funcgenerators/keysight33500b.py "
             "(command text and descriptions; not hardware-tested)")
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
    commands={
        "load": "OUTP{ch}:LOAD",
        "polarity": "OUTP{ch}:POL",
        "trigger_slope": "TRIG{ch}:SLOP",
        "sync": "OUTP:SYNC",
        "sync_source": "OUTP:SYNC:SOUR",
    },
    polarities=("NORMal", "INVerted"),
    trigger_slopes=("POSitive", "NEGative"),
    sync_sources=("CH1", "CH2"),
    two_channel_models=("33510B", "33512B", "33522B"),
    option_codes={"MEM": "16 MSa per channel arbitrary memory"},
    not_driven={
        "trigger_level": "the 33500B has no remote trigger-level command: Keysight's SDL command set lists "
                         "TRIGger[1|2]:COUNt, DELay, SLOPe, SOURce and TIMer only, and QCoDeS notes 'trigger "
                         "level doesn't work remotely'",
    },
    references={
        "OUTP1:LOAD": f"{_PYM33500}: output_load 'OUTP{{ch}}:LOAD'; {_UG33500}: 1 Ω to 10 kΩ or INFinity",
        "SOUR1:FUNC:ARB:FILT": f"{_PYM33500}: arb_filter 'SOUR{{ch}}:FUNC:ARB:FILT' NORM|STEP|OFF; NORMal (the "
                               "default) smooths edges — a pulse wants OFF (point to point) or STEP",
        "FORM:BORD": f"{_UG33500}: FORMat:BORDer NORMal|SWAPped for DATA:ARB binary blocks",
        "SOUR1:FREQ": f"{_PYM33500}: frequency 'SOUR{{ch}}:FREQ'",
        "*OPT?": f"{_UG33500}: option MEM (16 MSa per channel); without it 1 MSa — the driver checks the bench's "
                 "max_points against *OPT?",
        "OUTP1:POL": f"{_QC33XXX}: output_polarity 'OUTPut{{ch}}:POLarity' NORM|INV. {_SDL33500}: 'Inverts "
                     "waveform relative to the offset voltage' — so with polarity inverted the driver plays "
                     "the pulse at offset 0, where the inverted output is exactly −V(t)",
        "TRIG1:SLOP": f"{_QC33XXX}: trigger_slope 'TRIGger{{ch}}:SLOPe' POS|NEG; {_SDL33500}: the rear-panel "
                      "Trig In edge for externally triggered modes",
        "TRIG1:LEV": f"not available: {_SDL33500} lists no TRIGger:LEVel; {_QC33XXX}: 'TODO: trigger level "
                     "doesn't work remotely'",
        "OUTP:SYNC": f"{_QC33XXX}: sync output 'OUTPut:SYNC' ON|OFF (query 1|0), 'OUTPut:SYNC:SOURce' CH1|CH2 "
                     "on two-output models only (its no_of_channels: 33510B, 33512B, 33522B two; 33511B one); "
                     "the driver routes the sync to its own output where the model has two",
        "SOUR1:MARK": f"{_SDL33500}: SOURce[1|2]:MARKer:POINt/CYCLe/FREQuency and OUTPut[1|2]:SYNC:MODE "
                      "NORMal|CARRier|MARKer — not driven (no hardware-tested reference); the sync stays in the "
                      "mode the instrument holds",
    },
)
