"""Each dialect on its own (no sockets): settings and ranges as the instrument keeps them,
the error queue, and the role calls it makes on the object it fronts."""

from __future__ import annotations

import numpy as np
import pytest

from hil.errors import UnknownNameError
from hil.sim.scpi import DIALECTS, get_dialect, serve_twins
from hil.sim.scpi.dialects.keithley2400 import Keithley2400Dialect
from hil.sim.scpi.dialects.keithley6221 import Keithley6221Dialect
from hil.sim.scpi.dialects.keysight33500b import Keysight33500BDialect
from hil.sim.scpi.dialects.keysight81160a import Keysight81160ADialect
from hil.sim.scpi.dialects.keysight_xseries import KeysightXSeriesDialect
from hil.sim.scpi.dialects.rs_fsv import RohdeSchwarzFSVDialect
from hil.sim.scpi.recorders import RecordingBiasSource, RecordingPulseGenerator, RecordingSpectrumAnalyser


def run(dialect, *messages: bytes) -> list[bytes | None]:
    return [dialect.execute(m) for m in messages]


def errors(dialect) -> list[int]:
    codes = dialect.errors.codes()
    dialect.errors.clear()
    return codes


def block(payload: bytes) -> bytes:
    length = str(len(payload)).encode()
    return b"#" + str(len(length)).encode() + length + payload


# -- registry and common commands ------------------------------------------------


def test_registry_has_one_dialect_per_driver_and_unknown_names_list_the_known():
    assert set(DIALECTS) >= {"keysight81160a", "keysight33500b", "keysight_xseries", "rs_fsv",
                             "keithley6221", "keithley2400"}
    with pytest.raises(UnknownNameError, match="keithley2400, keithley6221, keysight33500b"):
        get_dialect("agilent_e4408b")


def test_serving_an_object_that_lacks_the_role_is_refused_before_binding():
    with pytest.raises(TypeError, match="not a BiasSource"):
        serve_twins({"bias_source": ("keithley6221", RecordingSpectrumAnalyser())})
    with pytest.raises(UnknownNameError):
        serve_twins({"bias_source": ("keithley9999", RecordingBiasSource())})


def test_common_commands_and_the_error_queue():
    d = Keithley6221Dialect(RecordingBiasSource())
    assert run(d, b"*IDN?")[0].startswith(b"KEITHLEY INSTRUMENTS INC.,MODEL 6221")
    assert run(d, b"*OPC?", b"*ESR?;*STB?") == [b"1\n", b"0;0\n"]
    assert run(d, b":BOGUS 1", b"*FOO", b"*IDN 3") == [None] * 3
    assert run(d, b"SYST:ERR?", b"SYST:ERR?", b":SYSTem:ERRor:NEXT?", b"SYST:ERR?") == [
        b'-113,"Undefined header;:BOGUS"\n', b'-113,"Undefined header;*FOO"\n',
        b'-108,"Parameter not allowed;*IDN takes no argument"\n', b'0,"No error"\n']
    run(d, b":BOGUS", b"*CLS")
    assert errors(d) == []


def test_a_query_of_a_set_only_header_is_undefined():
    d = Keysight81160ADialect(RecordingPulseGenerator())
    run(d, b":DATA1:DAC? VOLATILE")
    assert errors(d) == [-113]


# -- 81160A ----------------------------------------------------------------------


def test_81160a_settings_ranges_and_conflicts():
    d = Keysight81160ADialect(RecordingPulseGenerator())
    run(d, b":FREQ1 1e6;:VOLT1 2;:VOLT1:OFFS 1")
    assert run(d, b":FREQ1?;:VOLT1?;:VOLT1:OFFS?") == [b"1000000;2;1\n"]
    run(d, b":VOLT1 6", b":VOLT1:OFFS 4.5", b":FREQ1 400 MHZ", b":PULS:DEL1 -1", b":ARM:SOUR1 BUS")
    assert errors(d) == [-222, -221, -222, -222, -224]  # 4.5 V + 1 V peak > 5 V is a conflict
    assert run(d, b":VOLT1?;:VOLT1:OFFS?;:FREQ1?;:ARM:SOUR1?") == [b"2;1;1000000;IMM\n"]
    run(d, b":VOLT3 1")
    assert errors(d) == [-114]


def test_81160a_dac_block_upload_and_bus_trigger_play_volts_on_the_twin():
    twin = RecordingPulseGenerator()
    d = Keysight81160ADialect(twin)
    points = np.array([-8191, 0, 8191, 0], dtype=">i2")
    run(d, b":DATA1:DAC VOLATILE," + block(points.tobytes()), b":FUNC1:USER VOLATILE;:FUNC1 USER",
        b":FREQ1 250000000;:VOLT1 2;:VOLT1:OFFS 1;:PULS:DEL1 4e-9", b":ARM:SOUR1 MAN;:TRIG:COUN1 2", b"*TRG", b"*TRG")
    assert errors(d) == []
    assert twin.names() == ["output_off", "set_arbitrary_pulse", "arm", "trigger", "trigger"]
    _, (samples, rate) = twin.calls[1]
    assert rate == 1e9  # 250 MHz × 4 points
    lead = [0.0] * 4  # 4 ns of delay at 1 GSa/s, at the first point's level
    np.testing.assert_allclose(samples, lead + [0.0, 1.0, 2.0, 1.0] * 2)


def test_81160a_byte_order_swap_and_ascii_floats():
    twin = RecordingPulseGenerator()
    d = Keysight81160ADialect(twin)
    run(d, b":FORM:BORD SWAP", b":DATA1:DAC VOLATILE," + block(np.array([8191, -8191], "<i2").tobytes()))
    np.testing.assert_array_equal(d.channels[1].dac, [8191, -8191])
    run(d, b":DATA1 VOLATILE, 0, 0.5, 1")
    np.testing.assert_array_equal(d.channels[1].dac, [0, 4096, 8191])
    run(d, b":DATA1 VOLATILE, 0, 1.5", b":DATA1:DAC VOLATILE," + block(b"\x00\x01\x02"),
        b":DATA1:DAC VOLATILE,#14" + np.array([9000, 0], ">i2").tobytes(), b":DATA1:DAC VOLATILE,1")
    assert errors(d) == [-222, -161, -222, -222]  # out of ±1, odd bytes, beyond ±8191, one point


def test_81160a_trigger_outside_triggered_mode_is_ignored_with_211():
    twin = RecordingPulseGenerator()
    d = Keysight81160ADialect(twin)
    run(d, b"*TRG", b":ARM:SOUR1 MAN", b"*TRG")
    assert errors(d) == [-211, -221]  # then: armed, but no user waveform
    assert twin.names() == ["output_off"]


def test_81160a_output_1_drives_the_twin_output_2_only_its_settings():
    twin = RecordingPulseGenerator()
    d = Keysight81160ADialect(twin)
    run(d, b":OUTP1 ON", b":OUTP2 ON", b":OUTP1 OFF", b":OUTP2?")
    assert twin.names() == ["output_off", "output_on", "output_off"]
    assert d.channels[2].output is True


def test_81160a_reset_turns_the_twin_output_off():
    twin = RecordingPulseGenerator()
    d = Keysight81160ADialect(twin)
    run(d, b":OUTP1 1", b"*RST", b":OUTP1?")
    assert twin.names() == ["output_off", "output_on", "output_off"] and not d.channels[1].output


# -- 33500B ----------------------------------------------------------------------


def test_33500b_float_block_upload_burst_and_trigger_delay():
    twin = RecordingPulseGenerator()
    d = Keysight33500BDialect(twin)
    points = np.array([0, 0.5, 1, 0.5, 0, 0, 0, 0], dtype="<f4")
    run(d, b"FORM:BORD SWAP", b"SOUR1:DATA:VOL:CLE", b"SOUR1:DATA:ARB PULSE," + block(points.tobytes()),
        b"SOUR1:FUNC:ARB PULSE", b"SOUR1:FUNC ARB", b"SOUR1:FUNC:ARB:SRAT 1e6", b"SOUR1:VOLT 2",
        b"TRIG1:DEL 2e-6", b"SOUR1:BURS:MODE TRIG;NCYC 1", b"TRIG1:SOUR BUS", b"SOUR1:BURS:STAT ON", b"*TRG")
    assert errors(d) == []
    (samples, rate), = twin.fired
    assert rate == 1e6
    np.testing.assert_allclose(samples, [0.0, 0.0] + list(points.astype(float)))  # 2 µs lead at 1 MSa/s
    assert run(d, b"SOUR1:FUNC:ARB?") == [b'"PULSE"\n']


def test_33500b_refuses_what_the_instrument_refuses():
    d = Keysight33500BDialect(RecordingPulseGenerator())
    eight = np.zeros(8, "<f4").tobytes()
    run(d, b"FORM:BORD SWAP", b"DATA:ARB A," + block(eight), b"DATA:ARB A," + block(eight), b"DATA:ARB 9X," + block(eight),
        b"DATA:ARB B," + block(np.zeros(7, "<f4").tobytes()), b"DATA:ARB C," + block(np.full(8, 1.5, "<f4").tobytes()),
        b"FUNC:ARB NONE", b"FUNC:ARB:SRAT 300e6", b"VOLT 10;VOLT:OFFS 1", b"BURS:NCYC 0")
    assert errors(d) == [-221, -224, -222, -222, -224, -222, -221, -222]
    run(d, b"SOUR1:DATA:ARB ASCII, 0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 1")
    assert errors(d) == [] and d.channels[1].volatile["ASCII"][-1] == 1.0


def test_33500b_big_endian_is_the_default_byte_order():
    d = Keysight33500BDialect(RecordingPulseGenerator())
    run(d, b"DATA:ARB BE," + block(np.linspace(-1, 1, 8).astype(">f4").tobytes()))
    np.testing.assert_allclose(d.channels[1].volatile["BE"], np.linspace(-1, 1, 8), atol=1e-7)


# -- analysers -------------------------------------------------------------------


@pytest.mark.parametrize("dialect_cls", [KeysightXSeriesDialect, RohdeSchwarzFSVDialect])
def test_analyser_sweep_runs_on_the_twin_and_the_trace_is_its_power(dialect_cls):
    twin = RecordingSpectrumAnalyser(line_frequency=5e9)
    d = dialect_cls(twin)
    run(d, b"FREQ:CENT 5e9;SPAN 100e6", b"BAND 1e5;BAND:VID 1e5", b"SWE:POIN 201", b"INIT:CONT OFF",
        b"FORM REAL,32")
    assert run(d, b"INIT:IMM;*OPC?") == [b"1\n"]
    reply = run(d, b"TRAC:DATA? TRACE1")[0]
    assert reply.startswith(b"#3804") and reply.endswith(b"\n")
    trace = np.frombuffer(reply[5:-1], "<f4" if dialect_cls is RohdeSchwarzFSVDialect else ">f4")
    expected = twin.sweep()[1]
    np.testing.assert_allclose(trace, expected, rtol=1e-6)
    assert twin.calls[0] == ("configure_sweep", (5e9, 100e6, 1e5, 1e5, 201))
    assert run(d, b"FREQ:STAR?;STOP?") == [b"4950000000;5050000000\n"]
    assert errors(d) == []


def test_xseries_byte_order_real64_and_ascii():
    d = KeysightXSeriesDialect(RecordingSpectrumAnalyser())
    run(d, b":FREQ:CENT 5e9;SPAN 1e6", b":SWE:POIN 3", b":INIT:CONT OFF", b":INIT")
    run(d, b":FORM REAL,32", b":FORM:BORD SWAP")
    swapped = run(d, b":TRAC? TRACE1")[0]
    run(d, b":FORM:BORD NORM")
    normal = run(d, b":TRAC? TRACE1")[0]
    np.testing.assert_array_equal(np.frombuffer(swapped[4:-1], "<f4"), np.frombuffer(normal[4:-1], ">f4"))
    run(d, b":FORM REAL,64")
    assert run(d, b":TRAC? TRACE1")[0].startswith(b"#224")
    run(d, b":FORM ASC")
    assert run(d, b":FORM?") == [b"ASC,8\n"] and run(d, b":TRAC? TRACE1")[0].count(b",") == 2


def test_analyser_zero_span_and_its_ranges():
    twin = RecordingSpectrumAnalyser()
    d = KeysightXSeriesDialect(twin)
    run(d, b":FREQ:CENT 5e9;SPAN 0;:SWE:TIME 1e-3;:SWE:POIN 11;:BAND 1MHZ", b":INIT:CONT 0", b":INIT")
    assert twin.calls[-1] == ("zero_span", (5e9, 1e6, 1e-3, 11))
    run(d, b":FREQ:SPAN 5", b":SWE:POIN 40002", b":BAND 9e6", b":FREQ:CENT 27e9", b":TRAC? TRACE2")
    assert errors(d) == [-222, -222, -222, -222, -224]


def test_fsv_has_no_byte_order_setting_and_only_real32():
    d = RohdeSchwarzFSVDialect(RecordingSpectrumAnalyser())
    run(d, b"FORM:BORD SWAP", b"FORM REAL,64", b"SWE:POIN 100")
    assert errors(d) == [-113, -224, -222]


def test_analyser_trace_before_any_single_sweep_is_a_fresh_one():
    twin = RecordingSpectrumAnalyser()
    d = KeysightXSeriesDialect(twin)
    run(d, b":FREQ:CENT 5e9;SPAN 1e6;:SWE:POIN 5", b":INIT:CONT OFF")
    assert run(d, b":TRAC? TRACE1")[0].count(b",") == 4 and twin.names() == ["configure_sweep", "sweep"]
    run(d, b":TRAC? TRACE1")
    assert twin.names() == ["configure_sweep", "sweep"]  # single mode: the same trace again


def test_a_twin_that_fails_is_a_hardware_error_and_the_server_answers_on():
    class Broken(RecordingSpectrumAnalyser):
        def sweep(self):
            raise RuntimeError("detector on fire")

    d = KeysightXSeriesDialect(Broken())
    assert run(d, b":INIT:CONT OFF", b":INIT", b":TRAC? TRACE1") == [None, None, None]
    assert errors(d) == [-240, -240]
    assert run(d, b"*IDN?")[0].startswith(b"Keysight")


# -- bias sources ----------------------------------------------------------------


def test_6221_settings_reach_the_twin_and_out_of_range_leaves_them_unchanged():
    twin = RecordingBiasSource(resistance=100.0)
    d = Keithley6221Dialect(twin)
    run(d, b":SOUR:CURR 1e-3", b":SOUR:CURR:COMP 5", b"OUTPut 1")
    assert twin.current == 1e-3 and twin.compliance == 5 and twin.output
    run(d, b":SOUR:CURR 0.2", b":SOUR:CURR:COMP 200")
    assert errors(d) == [-222, -222]
    assert run(d, b":SOUR:CURR?;:SOUR:CURR:COMP?") == [b"0.001;5\n"] and twin.current == 1e-3


def test_6221_relays_2182a_readings_through_the_serial_port():
    twin = RecordingBiasSource(resistance=50.0)
    d = Keithley6221Dialect(twin)
    run(d, b":SOUR:CURR 2e-3;:OUTP ON")
    assert run(d, b":SYST:COMM:SER:ENT?") == [b"\n"]  # nothing waiting
    run(d, b':SYST:COMM:SER:SEND ":SENS:DATA:FRES?"')
    assert run(d, b":SYST:COMM:SER:ENT?") == [b"0.1\n"]


def test_6221_twin_refusal_is_222_and_the_setting_reverts():
    d = Keithley6221Dialect(RecordingBiasSource(max_current=1e-3))
    run(d, b":SOUR:CURR:RANG 10e-3;:SOUR:CURR 5e-3")
    assert errors(d) == [-222] and run(d, b":SOUR:CURR?") == [b"0\n"]


def test_2400_sources_current_only_in_current_mode_and_answers_its_elements():
    twin = RecordingBiasSource(resistance=200.0)
    d = Keithley2400Dialect(twin)
    run(d, b":FORMAT:ELEMENTS VOLTAGE, CURRENT, RESISTANCE, TIME, STATUS")
    run(d, b":SOURCE:CURRENT 1e-3")
    assert twin.current == 0.0  # still a voltage source (at 0 V): the current setpoint is kept, not applied
    reading = run(d, b":MEASURE:VOLTAGE?")[0]
    assert reading.startswith(b"0,0,9.91E+37") and errors(d) == []  # 0 V, 0 A through 200 ohm
    run(d, b":SOURCE:FUNCTION CURR", b":SENSE:VOLTAGE:PROTECTION 5", b"OUTPUT 1")
    assert twin.current == 1e-3 and twin.compliance == 5
    volts, amps, ohms, _, _ = run(d, b":MEASURE:VOLTAGE?")[0].decode().split(",")
    assert (float(volts), float(amps), ohms) == (0.2, 1e-3, "9.91E+37")
    assert run(d, b":SOURCE:FUNCTION?") == [b"CURR\n"]
