"""Twins answer like the instruments (issue 14): IEEE 488.2 common commands and a status model,
SCPI mandatory SYSTem queries, coupled analyser frequencies, and the commands stock drivers send
(81160A :TRIG1:COUN / :OUTP1:LOAD / :APPL, 33500B FREQ / OUTP:LOAD / FUNC:ARB:FILT, 6221 ranges)."""

from __future__ import annotations

import pytest

from hil.instruments import SPECS
from hil.sim.scpi.dialects import get_dialect
from hil.sim.scpi.recorders import RecordingBiasSource, RecordingPulseGenerator, RecordingSpectrumAnalyser

TWINS = {"keysight81160a": RecordingPulseGenerator, "keysight33500b": RecordingPulseGenerator,
         "keysight_xseries": RecordingSpectrumAnalyser, "rs_fsv": RecordingSpectrumAnalyser,
         "keithley6221": RecordingBiasSource, "keithley2400": RecordingBiasSource}


def dialect(name: str):
    return get_dialect(name)(TWINS[name]())


def ask(d, message: bytes) -> bytes | None:
    return d.execute(message)


@pytest.mark.parametrize("name", sorted(TWINS))
def test_identity_and_options_come_from_the_one_spec(name):
    d, spec = dialect(name), SPECS[name]
    assert ask(d, b"*IDN?") == spec.idn.encode() + b"\n"
    assert ask(d, b"*OPT?") == spec.options.encode() + b"\n"
    assert ask(d, b"*TST?;SYST:VERS?") == b"0;1999.0\n"


@pytest.mark.parametrize("name", sorted(TWINS))
def test_status_model_errors_set_esr_bits_and_the_status_byte_follows(name):
    d = dialect(name)
    assert ask(d, b"*ESR?;*STB?;*ESE?;*SRE?") == b"0;0;0;0\n"
    ask(d, b":NO:SUCH 1")  # command error: CME (32)
    ask(d, b"*ESE 255;*SRE 36")  # enable every event; SRQ on EAV (4) and ESB (32)
    assert ask(d, b"SYST:ERR:COUN?") == b"1\n"
    assert ask(d, b"*STB?") == b"100\n"  # EAV 4 + ESB 32 + MSS 64
    assert ask(d, b"*ESR?") == b"32\n"
    assert ask(d, b"*ESR?") == b"0\n"  # read clears
    ask(d, b"*OPC")
    assert ask(d, b"*ESR?") == b"1\n"  # operation complete
    ask(d, b"*CLS")
    assert ask(d, b"*STB?;SYST:ERR?") == b'0;0,"No error"\n'
    ask(d, b"*ESE 256;*SRE -1")
    assert ask(d, b"SYST:ERR:ALL?").count(b"-222") == 2
    assert ask(d, b"*ESE?;*WAI;*OPC?") == b"255;1\n"


def test_rst_does_not_touch_the_status_registers():
    d = dialect("keithley6221")
    ask(d, b"*ESE 16;:SOUR:CURR 1")  # -222: EXE (16)
    ask(d, b"*RST")
    assert ask(d, b"*ESE?;*ESR?;SYST:ERR:COUN?") == b"16;16;1\n"


@pytest.mark.parametrize("name", ["keysight_xseries", "rs_fsv"])
def test_after_rst_a_centre_alone_gives_a_consistent_sweep(name):
    d = dialect(name)
    high = SPECS[name].frequency[1]
    ask(d, b"*RST;:FREQ:CENT 5e9")
    start, stop, span = (float(v) for v in ask(d, b":FREQ:STAR?;:FREQ:STOP?;:FREQ:SPAN?").split(b";"))
    assert start >= 0 and stop <= high and span == pytest.approx(stop - start)
    assert (start + stop) / 2 == pytest.approx(5e9)
    ask(d, b":INIT:CONT OFF;:INIT")
    assert d.errors.codes() == []


def test_start_stop_centre_span_stay_coupled():
    d = dialect("keysight_xseries")
    ask(d, b":FREQ:STAR 1e9;:FREQ:STOP 3e9")
    assert ask(d, b":FREQ:CENT?;:FREQ:SPAN?") == b"2000000000;2000000000\n"
    ask(d, b":FREQ:SPAN 100e6")  # keeps the centre
    assert ask(d, b":FREQ:STAR?;:FREQ:STOP?") == b"1950000000;2050000000\n"
    ask(d, b":FREQ:STAR 3e9")  # beyond the stop: the stop moves up, keeping the span
    assert ask(d, b":FREQ:STAR?;:FREQ:STOP?") == b"3000000000;3100000000\n"
    ask(d, b":FREQ:SPAN 26.5e9")  # the centre moves inward so the full span fits
    assert ask(d, b":FREQ:STAR?;:FREQ:STOP?") == b"0;26500000000\n"
    assert d.errors.codes() == []


def test_xseries_mode_measurement_units_markers_and_limits():
    d = dialect("keysight_xseries")
    ask(d, b":INST:SEL SA;:CONF:SAN;:UNIT:POW DBM;:DISP:WIND:TRAC:Y:RLEV -10;:POW:ATT 20;:DET POS")
    ask(d, b":AVER:COUN 10;:AVER ON;:BAND:AUTO ON;:ROSC:SOUR EXT")
    assert ask(d, b":SWE:POIN? MAX;:SWE:POIN? MIN;:INST?;:CONF?") == b"40001;1;SA;SAN\n"
    ask(d, b":FREQ:CENT 5e9;:FREQ:SPAN 100e6;:INIT:CONT OFF;:INIT;:CALC:MARK1:MAX")
    x, y = (float(v) for v in ask(d, b":CALC:MARK1:X?;:CALC:MARK1:Y?").split(b";"))
    assert 4.95e9 <= x <= 5.05e9 and y == pytest.approx(max(d.trace))
    ask(d, b":INST:SEL BASIC")  # a mode the twin lacks
    assert d.errors.codes() == [-224]


def test_81160a_accepts_the_stock_driver_forms():
    d = dialect("keysight81160a")
    ask(d, b":TRIG1:COUN 3;:TRIG:COUN2 4")  # pymeasure's form and the old one
    assert ask(d, b":TRIG1:COUN?;:TRIG2:COUN?") == b"3;4\n"
    ask(d, b":APPL1:SIN 1000000, 1.5, 0.25")
    assert ask(d, b":FUNC1?;:FREQ1?;:VOLT1?;:VOLT1:OFFS?") == b"SIN;1000000;1.5;0.25\n"
    ask(d, b":APPL1:DC DEF, DEF, 1")
    assert ask(d, b":FUNC1?;:VOLT1:OFFS?") == b"DC;1\n"
    assert d.errors.codes() == []


def test_generator_load_setting_scales_the_limits_and_reads_back_like_the_instrument():
    d = dialect("keysight81160a")
    assert ask(d, b":OUTP1:LOAD?") == b"50\n"
    ask(d, b":VOLT1:OFFS 0;:VOLT1 8")  # 8 Vpp is beyond 5 Vpp at 50 Ω
    assert d.errors.codes() == [-222]
    d.errors.clear()
    ask(d, b":OUTP1:LOAD INF;:VOLT1 8")  # High-Z doubles the limits
    assert ask(d, b":OUTP1:LOAD?;:VOLT1?") == b"9.9E+37;8\n"
    ask(d, b":OUTP1:LOAD 0.1")
    assert d.errors.codes() == [-222]


def test_33500b_frequency_load_and_arb_filter():
    d = dialect("keysight33500b")
    ask(d, b"FREQ 2e6;:SOUR1:FUNC:ARB:FILT OFF;:OUTP1:LOAD INF;:SOUR2:FREQ 1e3")
    assert ask(d, b"SOUR1:FREQ?;:FUNC:ARB:FILT?;:OUTP1:LOAD?;:SOUR2:FREQ?") == b"2000000;OFF;9.9E+37;1000\n"
    ask(d, b"FREQ 40e6")  # the 30 MHz models
    assert d.errors.codes() == [-222]


def test_6221_range_is_needed_for_a_setpoint_beyond_it_as_on_the_instrument():
    d = dialect("keithley6221")
    ask(d, b":SOUR:CURR 10e-3")  # *RST: auto range off, 2 mA range
    assert d.errors.codes() == [-221]
    d.errors.clear()
    ask(d, b":SOUR:CURR:RANG 15e-3;:SOUR:CURR 10e-3")
    assert ask(d, b":SOUR:CURR:RANG?;:SOUR:CURR?") == b"0.02;0.01\n"
    ask(d, b":SOUR:CURR:RANG 2e-3")  # the setpoint would not fit
    ask(d, b":SOUR:CURR:RANG:AUTO ON;:SOUR:CURR 0.1")
    assert d.errors.codes() == [-221] and ask(d, b":SOUR:CURR?") == b"0.1\n"
