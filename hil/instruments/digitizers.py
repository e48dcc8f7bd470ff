"""Digitizers: the Keysight InfiniiVision 4000 X oscilloscope (DSOX/MSOX4000A) in segmented mode.

Read by the driver (``hil.drivers.keysight_infiniivision``) and the SCPI
dialect (``hil.sim.scpi.dialects.keysight_infiniivision``). The chip's
digitizer twin (``hil.sim.chip.ChipDigitizer``) is model-agnostic: its
rate and memory are its own options (a bench serving it in this model's
dialect sets ``max_sample_rate`` to match).
"""

from __future__ import annotations

from dataclasses import dataclass

from hil.instruments.spec import InstrumentSpec


@dataclass(frozen=True)
class DigitizerSpec(InstrumentSpec):
    channels: int  # analog inputs, numbered from 1
    max_rate: float  # Sa/s with one or two channels on (half with more, ``rate_split`` channels and up)
    memory: int  # points with one or two channels on (half with more)
    rate_split: int  # channels on from which rate and memory halve
    max_segments: int
    time_range: tuple[float, float]  # s, full-scale time base (10 divisions)
    time_position: tuple[float, float]  # s, :TIMebase:POSition
    channel_range: tuple[float, float]  # V, full-scale vertical range (8 divisions), 1 MΩ
    offset: tuple[float, float]  # V
    trigger_level: tuple[float, float]  # V, external trigger
    run_bit: int  # Operation Status Condition register: acquisition running

    def limits(self, channels_on: int) -> tuple[float, int]:
        """(highest sample rate Sa/s, memory points) with ``channels_on`` channels displayed."""
        if channels_on < self.rate_split:
            return self.max_rate, self.memory
        return self.max_rate / 2, self.memory // 2


_PG = "Keysight InfiniiVision 3000/4000/6000 X-Series Programmer's Guide"
_PYM = "pymeasure instruments/keysight/keysightDSOX1102G.py (hardware-tested, same command tree)"
KEYSIGHT_INFINIIVISION = DigitizerSpec(
    key="keysight_infiniivision",
    model="InfiniiVision 4000 X",
    idn="KEYSIGHT TECHNOLOGIES,DSOX4034A,TWIN000001,07.50.2021102830",
    options="0",
    channels=4,
    max_rate=5e9,
    memory=4_000_000,
    rate_split=3,
    max_segments=1000,
    time_range=(2e-9, 500.0),
    time_position=(-500.0, 500.0),
    channel_range=(8e-3, 40.0),
    offset=(-40.0, 40.0),
    trigger_level=(-8.0, 8.0),
    run_bit=8,
    references={
        "ranges": "the 4000 X figures the driver carried before this spec (data sheet; not re-checked against "
                  "a hardware-tested driver, which states none of them): 4 analog channels, 5 GSa/s "
                  "(2.5 GSa/s with 3 or 4 on), 4 Mpts (2 Mpts per channel with 3 or 4 on), up to 1000 segments, "
                  "200 ps/div to 50 s/div, 1 mV/div to 5 V/div (8 divisions) into 1 MΩ",
        ":CHANnel:RANGe": f"{_PYM}: channel range/offset/display; {_PG}",
        ":TIMebase:RANGe": f"{_PYM}: time base range, reference, position; {_PG}",
        ":ACQuire:MODE": f"{_PYM}: ':ACQuire:MODE RTIMe|SEGMented'; {_PG}: "
                         "':ACQuire:SEGMented:COUNt' 2 to 1000",
        ":WAVeform:DATA?": f"{_PYM}: ':WAVeform:SOURce|FORMat|POINts:MODE|PREamble?|DATA?'; {_PG}: "
                           "':WAVeform:SEGMented:ALL ON' (every segment in one block), ':WAVeform:BYTeorder "
                           "LSBFirst', ':WAVeform:UNSigned 0'",
        ":AER?": f"{_PG}: ':SINGle', then ':AER?' (Arm Event Register) until 1 before the stimulus fires",
        ":OPERegister:CONDition?": "Keysight InfiniiVision-X synchronisation example ('method 2', Keysight "
                                   "sample application, 2015): poll the Run bit (bit 3, value 8) until it clears; "
                                   ":DIGitize is not used (it blocks the parser until the acquisition ends)",
        ":TRIGger:EDGE:LEVel": f"{_PG}: ':TRIGger:EDGE:SOURce EXTernal', 'SLOPe', 'LEVel' (±8 V on EXT)",
    },
)
