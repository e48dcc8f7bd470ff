"""DC current sources: Keithley 6221 (with a 2182A behind it) and 2400 SourceMeter."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SourceSpec:
    key: str
    model: str
    idn: str
    options: str
    current: tuple[float, float]  # A
    compliance: tuple[float, float]  # V
    current_ranges: tuple[float, ...]  # A, the fixed source ranges
    nplc: tuple[float, float] = (0.01, 10.0)
    references: dict[str, str] = field(default_factory=dict)


_PYM6221 = "pymeasure 0.16 instruments/keithley/keithley6221.py (hardware-tested)"
KEITHLEY_6221 = SourceSpec(
    key="keithley6221",
    model="6221",
    idn="KEITHLEY INSTRUMENTS INC.,MODEL 6221,TWIN000001,spin-hil-twin",
    options="0",
    current=(-0.105, 0.105),
    compliance=(0.1, 105.0),
    current_ranges=(2e-9, 20e-9, 200e-9, 2e-6, 20e-6, 200e-6, 2e-3, 20e-3, 100e-3),
    references={
        ":SOUR:CURR:RANG": f"{_PYM6221}: source_range ':SOUR:CURR:RANG:AUTO 0;:SOUR:CURR:RANG %g'; *RST leaves "
                           "auto range off at the 2 mA range, so the driver sets the range for each setpoint",
        ":SOUR:CURR": f"{_PYM6221}: source_current ':SOUR:CURR' (pymeasure clamps with truncated_range; here "
                      "strict)",
        ":SYST:COMM:SER:SEND": "Keithley 6221 Reference Manual, serial pass-through to a 2182A on RS-232",
    },
)

_PYM2400 = "pymeasure 0.16 instruments/keithley/keithley2400.py (hardware-tested)"
KEITHLEY_2400 = SourceSpec(
    key="keithley2400",
    model="2400",
    idn="KEITHLEY INSTRUMENTS INC.,MODEL 2400,TWIN000001,spin-hil-twin",
    options="0",
    current=(-1.05, 1.05),
    compliance=(0.0, 210.0),
    current_ranges=(1e-6, 10e-6, 100e-6, 1e-3, 10e-3, 100e-3, 1.0),
    references={
        ":READ?": f"{_PYM2400}: the readings are ':READ?' after a one-time ':SENS:FUNC' set-up; ':MEAS:VOLT?' "
                  "re-applies the function's defaults on every reading (2400 User's Manual, MEASure)",
        ":SENS:VOLT:NPLC": f"{_PYM2400}: ':SENSE:VOLTAGE:NPLCYCLES' 0.01 to 10",
        ":SYST:RSEN": "Keithley 2400 User's Manual, SYSTem:RSENse ON|OFF (4-wire remote sense)",
        ":SENS:VOLT:PROT:TRIP?": "Keithley 2400 User's Manual, [:SENSe]:VOLTage:PROTection:TRIPped? (compliance)",
    },
)
