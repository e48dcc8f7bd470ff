"""DC sources: Keithley 6221 (with a 2182A behind it) and 2400 SourceMeter.

Every doubtful command and range is settled in ``references`` (the manual
section, or a hardware-tested public driver: pymeasure 0.16, QCoDeS). Where
a reference and this project's earlier text disagreed, the reference won.
"""

from __future__ import annotations

from dataclasses import dataclass

from hil.instruments.spec import InstrumentSpec


@dataclass(frozen=True)
class DeltaSpec:
    """The 6221's Delta mode (6221 alternating its current, a 2182A reading each half-cycle)."""

    high: tuple[float, float]  # A, SOUR:DELT:HIGH
    low: tuple[float, float]  # A, SOUR:DELT:LOW
    delay: tuple[float, float]  # s, SOUR:DELT:DEL
    count: tuple[int, int]  # SOUR:DELT:COUN (readings), also the buffer size TRAC:POIN
    buffer: tuple[int, int]  # TRAC:POIN


@dataclass(frozen=True)
class SourceSpec(InstrumentSpec):
    current: tuple[float, float]  # A
    compliance: tuple[float, float]  # V (the current source's voltage compliance)
    current_ranges: tuple[float, ...]  # A, the fixed source (and 2400: sense) ranges
    nplc: tuple[float, float] = (0.01, 10.0)
    #: A setpoint may exceed its fixed range by this factor (the 6221's and 2400's 105 %).
    overrange: float = 1.05
    #: Voltage-source operation (2400): level, fixed ranges, current compliance.
    voltage: tuple[float, float] = (0.0, 0.0)  # V
    voltage_ranges: tuple[float, ...] = ()  # V
    current_compliance: tuple[float, float] = (0.0, 0.0)  # A
    #: The power envelope (2400): above ``envelope[0]`` A only ``envelope[1]`` V, and the other way round.
    envelope: tuple[float, float, float, float] | None = None  # (A, V at that A, V, A at that V)
    #: 2182A behind a 6221: NPLC and range limits, and the fixed ranges.
    voltmeter_nplc: tuple[float, float] = (0.01, 60.0)
    voltmeter_range: tuple[float, float] = (0.0, 120.0)  # V
    #: Measurement event register bits (6221): compliance, buffer full.
    compliance_bit: int = 0
    buffer_full_bit: int = 0
    delta: DeltaSpec | None = None


def fixed_range(value: float, ranges: tuple[float, ...], overrange: float) -> float | None:
    """The smallest fixed range that holds ``value`` (with the instrument's over-range), as the
    instrument picks it for ``…:RANG <value>``; None beyond the largest. The driver checks with
    it what the instrument (and its SCPI dialect) will choose."""
    return next((r for r in ranges if r * overrange >= abs(value) - 1e-15), None)


_PYM6221 = "pymeasure 0.16 instruments/keithley/keithley6221.py (hardware-tested)"
_REF6221 = "Keithley Model 6220/6221 Reference Manual"
KEITHLEY_6221 = SourceSpec(
    key="keithley6221",
    model="6221",
    idn="KEITHLEY INSTRUMENTS INC.,MODEL 6221,TWIN000001,spin-hil-twin",
    options="0",
    current=(-0.105, 0.105),
    compliance=(0.1, 105.0),
    current_ranges=(2e-9, 20e-9, 200e-9, 2e-6, 20e-6, 200e-6, 2e-3, 20e-3, 100e-3),
    compliance_bit=8,  # B3 "Comp"
    buffer_full_bit=512,  # B9 "BFL"
    delta=DeltaSpec(high=(0.0, 0.105), low=(-0.105, 0.0), delay=(0.0, 9999.999), count=(1, 65536),
                    buffer=(1, 65536)),
    references={
        ":SOUR:CURR:RANG": f"{_PYM6221}: source_range ':SOUR:CURR:RANG:AUTO 0;:SOUR:CURR:RANG %g'; *RST leaves "
                           "auto range off at the 2 mA range, so the driver sets the range for each setpoint",
        ":SOUR:CURR": f"{_PYM6221}: source_current ':SOUR:CURR' (pymeasure clamps with truncated_range; here "
                      "strict)",
        ":SYST:COMM:SER:SEND": "Keithley 6221 Reference Manual, serial pass-through to a 2182A on RS-232",
        ":SOUR:DELT:HIGH": f"{_PYM6221}: delta_high_source ':SOUR:DELT:HIGH' 0 to 0.105 A; setting it sets LOW "
                           "to -HIGH, so LOW is sent after HIGH",
        ":SOUR:DELT:LOW": f"{_PYM6221}: delta_low_source ':SOUR:DELT:LOW' -0.105 to 0 A",
        ":SOUR:DELT:DEL": f"{_PYM6221}: delta_delay ':SOUR:DELT:DELay' 0 to 9999.999 s",
        ":SOUR:DELT:COUN": f"{_PYM6221}: delta_cycles ':SOUR:DELT:COUN' 1 to 65536 (or INF; not used here)",
        ":SOUR:DELT:CAB": f"{_PYM6221}: delta_compliance_abort_enabled ':SOUR:DELT:CAB ON|OFF'",
        ":SOUR:DELT:NVPR?": f"{_PYM6221}: delta_connected ':SOUR:DELT:NVPR?' (1: a 2182A answers on RS-232)",
        ":SOUR:DELT:ARM": f"{_PYM6221}: delta_arm ':SOUR:DELT:ARM'; the query form answers 1 when armed "
                          f"({_REF6221}, section 5, the same ARM? form as Pulse Delta's SOUR:PDEL:ARM?)",
        ":INIT:IMM": f"{_PYM6221}: delta_start ':INIT:IMM'",
        ":SOUR:SWE:ABOR": f"{_PYM6221}: delta_abort ':SOUR:SWE:ABOR' (stops Delta, 2182A back to local)",
        ":TRAC:POIN": f"{_REF6221}, section 6, Table 6-4 Buffer commands: TRACe:POINts 1 to 65536, sized to "
                      "the Delta count; TRACe:POINts:ACTual? readings stored; TRACe:CLEar",
        ":TRAC:DATA?": f"{_REF6221}, section 6 (Table 6-4) and section 13 FORMat:ELEMents: the elements set "
                       "(DEFault = READing,TSTamp) per reading; an overflow reads +9.9E37",
        ":FORM:ELEM": f"{_REF6221}, section 13, FORMat:ELEMents READing, TSTamp, ... (DEFault READ,TST)",
        ":STAT:MEAS:COND?": f"{_REF6221}, section 11 Status structure, Figure 11-6 Measurement event status: "
                            "condition register bit B3 'Comp' (compliance), B9 'BFL' (buffer full); "
                            ":STAT:MEAS? reads (and clears) the latched event register",
    },
)

_PYM2400 = "pymeasure 0.16 instruments/keithley/keithley2400.py (hardware-tested)"
_UM2400 = "Keithley 2400 Series SourceMeter User's Manual"
_QC2400 = "QCoDeS instrument_drivers/Keithley/Keithley_2400.py (hardware-tested)"
KEITHLEY_2400 = SourceSpec(
    key="keithley2400",
    model="2400",
    idn="KEITHLEY INSTRUMENTS INC.,MODEL 2400,TWIN000001,spin-hil-twin",
    options="0",
    current=(-1.05, 1.05),
    compliance=(0.0, 210.0),
    current_ranges=(1e-6, 10e-6, 100e-6, 1e-3, 10e-3, 100e-3, 1.0),
    voltage=(-210.0, 210.0),
    voltage_ranges=(0.2, 2.0, 20.0, 200.0),
    current_compliance=(0.0, 1.05),
    envelope=(0.105, 21.0, 21.0, 0.105),
    references={
        ":READ?": f"{_PYM2400}: the readings are ':READ?' after a one-time ':SENS:FUNC' set-up; ':MEAS:VOLT?' "
                  "re-applies the function's defaults on every reading (2400 User's Manual, MEASure)",
        ":SENS:VOLT:NPLC": f"{_PYM2400}: ':SENSE:VOLTAGE:NPLCYCLES' 0.01 to 10 (global: sets CURR's too)",
        ":SYST:RSEN": f"{_PYM2400} (newer releases): wires ':SYSTEM:RSENSE 1|0' (4 or 2 wires); {_UM2400}, "
                      "section 2 'Sense selection': ':SYST:RSEN ON' remote (4-wire), ':SYST:RSEN OFF' local; "
                      "changing sense turns the output OFF",
        ":SENS:VOLT:PROT:TRIP?": f"{_UM2400}, section 18 SENSe subsystem 'TRIPped?': "
                                 "[:SENSe[1]]:VOLTage[:DC]:PROTection:TRIPped? for the I-Source, "
                                 "[:SENSe[1]]:CURRent[:DC]:PROTection:TRIPped? for the V-Source; 1 = in "
                                 "compliance",
        ":SOUR:FUNC VOLT": f"{_PYM2400}: source_mode ':SOURCE:FUNCTION VOLT|CURR'; {_QC2400}: VOLT mode senses "
                           "CURR (':SENS:FUNC \"CURR\"') and sets ':SOUR:VOLT:LEV'",
        ":SOUR:VOLT": f"{_PYM2400}: source_voltage ':SOURCE:VOLTAGE' -210 to 210 V; {_UM2400}, section 18 "
                      "SOURce: 2400 V-Source level -210 to 210 V",
        ":SOUR:VOLT:RANG": f"{_PYM2400}: source_voltage_range ':SOURCE:VOLTAGE:RANGE' (the lowest range that "
                           "holds the value, auto off); 2400 ranges 200 mV, 2 V, 20 V, 200 V",
        ":SOUR:CURR:RANG": f"{_PYM2400}: source_current_range ':SOURCE:CURRENT:RANGE'; ranges 1 uA to 1 A",
        ":SENS:CURR:PROT": f"{_PYM2400}: compliance_current ':SENSE:CURRENT:PROTECTION' (±1.05 A); "
                           f"{_UM2400}, section 18: the current compliance of the V-Source; not below 0.1 % "
                           "of the present measurement range",
        ":SENS:CURR:RANG": f"{_PYM2400}: current_range ':SENSE:CURRENT:RANGE' / ':SENSE:CURRENT:RANGE:AUTO'; "
                           f"{_UM2400}, section 18 'Select measurement range': only the function not sourced "
                           "takes a measurement range (the sourced one follows the source range)",
        ":SENS:VOLT:RANG": f"{_PYM2400}: voltage_range ':SENSE:VOLTAGE:RANGE' / ':SENSE:VOLTAGE:RANGE:AUTO'",
        ":SENS:FUNC 'CURR','VOLT'": f"{_UM2400}, section 6 'Source I measure I and source V measure V': the "
                                    "sourced function can be measured too, which reads the real output "
                                    "in compliance; remote operation measures the functions concurrently",
        "envelope": f"{_UM2400}, section 18 'Select measurement range' note 4: 2400 — with the 200 V source "
                    "range the highest current range is 100 mA; with the 1 A source range the highest "
                    "voltage range is 20 V (1.05 A up to 21 V, 105 mA up to 210 V)",
    },
)
