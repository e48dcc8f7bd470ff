"""Keithley 6221 and 2400 bias drivers: exact bytes of every role method, the 6221's Delta mode and
compliance status, the 2400's voltage-source mode and fixed ranges; an out-of-range value raises and
nothing is sent (pymeasure's 6221 would have clamped it); the bench's guard holds the extra methods
to its limits too; and the same calls over SCPI against the twins' dialects."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pymeasure.adapters import ProtocolAdapter
from pymeasure.test import expected_protocol

from hil.drivers.keithley import Keithley2400Bias, Keithley6221Bias
from hil.errors import InstrumentError, LimitError
from hil.guards import BiasSourceGuard, Limits
from hil.roles import BiasSource
from hil.sim.scpi.recorders import RecordingBiasSource
from hil.sim.twins.bias import SimBiasSource

K2400_INIT = [(":FORMAT:ELEMENTS VOLTAGE, CURRENT, RESISTANCE, TIME, STATUS", None)]
NO_ERROR = ("SYST:ERR?", '0,"No error"')
#: Once, before the first setpoint or reading: current source, auto range, voltage sense, NPLC, sense
#: auto range, 2-wire.
K2400_CONFIGURE = [(":SOURCE:FUNCTION CURR", None), (":SOURCE:CURRENT:RANGE:AUTO 1", None),
                   (":SENS:FUNC 'VOLT'", None), (":SENS:VOLT:NPLC 1", None), (":SENS:VOLT:RANG:AUTO ON", None),
                   (":SYST:RSEN OFF", None), NO_ERROR]
#: The same for a voltage source: it senses the current and (concurrently) the real output voltage.
K2400_CONFIGURE_V = [(":SOURCE:FUNCTION VOLT", None), (":SOURCE:VOLTAGE:RANGE:AUTO 1", None),
                     (":SENS:FUNC 'CURR','VOLT'", None), (":SENS:CURR:NPLC 1", None), (":SENS:CURR:RANG:AUTO ON", None),
                     (":SYST:RSEN OFF", None), NO_ERROR]


# -- 6221 ---------------------------------------------------------------------


def test_6221_satisfies_the_bias_source_role():
    with expected_protocol(Keithley6221Bias, []) as source:
        assert isinstance(source, BiasSource)


def test_6221_role_methods():
    protocol = [
        (":SOUR:CURR:RANG:AUTO ON", None),  # once: *RST leaves auto range off on the 2 mA range
        NO_ERROR,
        (":SOUR:CURR 0.001234567891", None),  # ten digits, not %g's six
        NO_ERROR,
        (":SOUR:CURR?", "1.234567891E-03"),
        (":SOUR:CURR:COMP 10", None),
        NO_ERROR,
        ("OUTPut 1", None),
        ("OUTPut 0", None),
    ]
    with expected_protocol(Keithley6221Bias, protocol) as source:
        source.set_current(1.234567891e-3)
        assert source.get_current() == 1.234567891e-3
        source.set_compliance_voltage(10)
        source.output_on()
        source.output_off()


def test_6221_fixed_range_is_set_once_and_refuses_setpoints_beyond_it():
    protocol = [(":SOUR:CURR:RANG 0.02", None), NO_ERROR, (":SOUR:CURR 0.015", None), NO_ERROR,
                (":SOUR:CURR -0.02", None), NO_ERROR]
    with expected_protocol(Keithley6221Bias, protocol, current_range=20e-3) as source:
        source.set_current(15e-3)
        source.set_current(-20e-3)
        with pytest.raises(ValueError, match="fixed range"):
            source.set_current(30e-3)


def test_6221_an_error_after_a_step_raises_naming_the_step_and_the_command():
    protocol = [(":SOUR:CURR:RANG:AUTO ON", None), NO_ERROR, (":SOUR:CURR 0.001", None),
                ("SYST:ERR?", '-222,"Data out of range"'), NO_ERROR]
    with expected_protocol(Keithley6221Bias, protocol) as source:
        with pytest.raises(InstrumentError, match=r"6221 refused source current 0.001 A: -222.*:SOUR:CURR\b"):
            source.set_current(1e-3)


#: Once, before the first reading: the 2182A set up through the serial pass-through, then its error queue
#: (relayed) and the 6221's.
VOLTMETER_SETUP = [
    (':SYST:COMM:SER:SEND ":SENS:FUNC \'VOLT\'"', None),
    (':SYST:COMM:SER:SEND ":SENS:VOLT:NPLC 1"', None),
    (':SYST:COMM:SER:SEND ":SENS:VOLT:RANG:AUTO ON"', None),
    (':SYST:COMM:SER:SEND ":SYST:ERR?"', None),
    (":SYST:COMM:SER:ENT?", '0,"No error"'),
    ("SYST:ERR?", '0,"No error"'),
]


def test_6221_reads_the_voltage_from_the_2182a_through_its_serial_port():
    protocol = VOLTMETER_SETUP + [
        (':SYST:COMM:SER:SEND ":SENS:DATA:FRES?"', None),
        (":SYST:COMM:SER:ENT?", ""),  # not arrived yet: asks again
        (":SYST:COMM:SER:ENT?", "+1.23456789E-03"),
    ]
    with expected_protocol(Keithley6221Bias, protocol) as source:
        assert source.measure_voltage() == 1.23456789e-3


def test_6221_without_a_2182a_times_out_with_a_remedy():
    adapter = ProtocolAdapter(VOLTMETER_SETUP[:4] + [(":SYST:COMM:SER:ENT?", "")] * 1000)
    source = Keithley6221Bias(adapter, voltmeter_timeout=0.03)
    with pytest.raises(TimeoutError, match="RS-232"):
        source.measure_voltage()


def test_6221_a_2182a_that_refuses_its_set_up_raises_naming_the_commands():
    protocol = VOLTMETER_SETUP[:4] + [(":SYST:COMM:SER:ENT?", '-222,"Data out of range"')]
    with expected_protocol(Keithley6221Bias, protocol, voltmeter_range=None) as source:
        with pytest.raises(InstrumentError, match=r"2182A refused its set-up: -222.*:SENS:VOLT:NPLC 1"):
            source.measure_voltage()


def test_6221_shutdown_zeroes_then_switches_off_and_close_closes():
    with expected_protocol(Keithley6221Bias, [(":SOUR:CURR 0", None), ("OUTPut 0", None)]) as source:
        source.shutdown()
        source.close()


@pytest.mark.parametrize("current", [0.106, -0.2, float("nan"), float("inf")])
def test_6221_refuses_a_current_it_cannot_source_and_sends_nothing(current):
    with expected_protocol(Keithley6221Bias, []) as source:
        with pytest.raises(ValueError, match="bias current"):
            source.set_current(current)


def test_6221_refuses_the_pymeasure_setter_too():
    """The table itself is strict: even ``source_current = 0.2`` raises instead of sending 0.105."""
    with expected_protocol(Keithley6221Bias, []) as source:
        with pytest.raises(ValueError):
            source.source_current = 0.2


@pytest.mark.parametrize("voltage", [0.05, 106.0])
def test_6221_refuses_a_compliance_out_of_range(voltage):
    with expected_protocol(Keithley6221Bias, []) as source:
        with pytest.raises(ValueError, match="compliance"):
            source.set_compliance_voltage(voltage)


# -- 2400 ---------------------------------------------------------------------


def test_2400_satisfies_the_bias_source_role():
    with expected_protocol(Keithley2400Bias, K2400_INIT) as source:
        assert isinstance(source, BiasSource)


def test_2400_role_methods():
    protocol = K2400_INIT + K2400_CONFIGURE + [
        (":SOURCE:CURRENT -0.0005", None),
        NO_ERROR,
        (":SOURCE:CURRENT?", "-5.000000E-04"),
        (":SENSE:VOLTAGE:PROTECTION 5", None),
        NO_ERROR,
        ("OUTPUT 1", None),
        (":READ?", "-5.012300E-02,-5.000000E-04,9.910000E+37,1.234000E+02,1.994800E+04"),
        (":READ?", "-5.100000E-02,-5.000000E-04,9.910000E+37,1.244000E+02,1.994800E+04"),
        (":SENS:VOLT:PROT:TRIP?", "0"),
        ("OUTPUT 0", None),
    ]
    with expected_protocol(Keithley2400Bias, protocol) as source:
        source.set_current(-0.5e-3)
        assert source.get_current() == -5e-4
        source.set_compliance_voltage(5)
        source.output_on()
        assert source.measure_voltage() == -5.0123e-2  # configured once, then :READ? each time
        assert source.measure_voltage() == -5.1e-2
        assert source.compliance_tripped() is False
        source.output_off()


def test_2400_not_a_number_reading_is_nan():
    protocol = K2400_INIT + K2400_CONFIGURE + [(":READ?", "9.910000E+37,0,9.910000E+37,1,0")]
    with expected_protocol(Keithley2400Bias, protocol) as source:
        assert math.isnan(source.measure_voltage())


def test_2400_shutdown_zeroes_then_switches_off_and_close_closes():
    protocol = K2400_INIT + [(":SOURCE:CURRENT 0", None), ("OUTPUT 0", None)]
    with expected_protocol(Keithley2400Bias, protocol) as source:
        source.shutdown()
        source.close()


@pytest.mark.parametrize("current", [1.06, -1.1, float("nan")])
def test_2400_refuses_a_current_it_cannot_source_and_sends_nothing(current):
    with expected_protocol(Keithley2400Bias, K2400_INIT) as source:
        with pytest.raises(ValueError, match="bias current"):
            source.set_current(current)


@pytest.mark.parametrize("voltage", [-1.0, 211.0])
def test_2400_refuses_a_compliance_out_of_range(voltage):
    with expected_protocol(Keithley2400Bias, K2400_INIT) as source:
        with pytest.raises(ValueError, match="compliance"):
            source.set_compliance_voltage(voltage)


# -- 6221: compliance status ------------------------------------------------------


@pytest.mark.parametrize("register, tripped", [("0", False), ("8", True), ("520", True), ("512", False)])
def test_6221_compliance_is_bit_3_of_the_measurement_condition_register(register, tripped):
    """B3 (Comp) alone decides; B9 (buffer full, 512) is not compliance."""
    with expected_protocol(Keithley6221Bias, [(":STAT:MEAS:COND?", register), (":STAT:MEAS?", register)]) as source:
        assert source.compliance_tripped() is tripped
        assert source.compliance_since_last_read() is tripped


# -- 6221: Delta mode -------------------------------------------------------------------

NVPR = (":SOUR:DELT:NVPR?", "1")
DELTA_SETUP = [
    NVPR,
    (":SOUR:DELT:HIGH 0.0001", None),
    (":SOUR:DELT:LOW -5e-05", None),
    (":SOUR:DELT:DEL 0.01", None),
    (":SOUR:DELT:COUN 3", None),
    (":SOUR:DELT:CAB ON", None),
    (":TRAC:POIN 3", None),
    (":FORM:ELEM READ,TST", None),
    (":UNIT:VOLT:DC V", None),
    NO_ERROR,
]
DELTA_START = [(":TRAC:CLE", None), (":SOUR:DELT:ARM", None), NO_ERROR, (":SOUR:DELT:ARM?", "0"),
               (":SOUR:DELT:ARM?", "1"), (":INIT:IMM", None), NO_ERROR]


def test_6221_delta_configure_start_read_abort_send_the_exact_commands():
    protocol = DELTA_SETUP + DELTA_START + [
        (":TRAC:POIN:ACT?", "1"),  # still running: asks again
        (":TRAC:POIN:ACT?", "3"),
        (":TRAC:DATA?", "+1.0E-03,+0.0E+00,+1.1E-03,+2.2E-02,+9.9E+37,+4.4E-02"),
        (":SOUR:SWE:ABOR", None),
        NO_ERROR,
    ]
    with expected_protocol(Keithley6221Bias, protocol) as source:
        source.delta_configure(100e-6, -50e-6, delay_s=0.01, count=3)
        source.delta_start()
        times, volts = source.delta_read()
        source.delta_abort()
    np.testing.assert_array_equal(times, [0.0, 0.022, 0.044])
    assert volts[:2].tolist() == [1e-3, 1.1e-3] and math.isnan(volts[2])  # +9.9E37: overflow


def test_6221_delta_low_defaults_to_minus_high():
    protocol = [NVPR, (":SOUR:DELT:HIGH 0.002", None), (":SOUR:DELT:LOW -0.002", None),
                (":SOUR:DELT:DEL 0.002", None), (":SOUR:DELT:COUN 100", None), (":SOUR:DELT:CAB OFF", None),
                (":TRAC:POIN 100", None), (":FORM:ELEM READ,TST", None), (":UNIT:VOLT:DC V", None), NO_ERROR]
    with expected_protocol(Keithley6221Bias, protocol) as source:
        source.delta_configure(2e-3, compliance_abort=False)


@pytest.mark.parametrize("args, kwargs, match", [
    ((0.2,), {}, "Delta high current"),
    ((-1e-3,), {}, "Delta high current"),
    ((1e-3, 1e-4), {}, "Delta low current"),  # the low current is 0 or negative
    ((1e-3,), {"delay_s": -1.0}, "Delta delay"),
    ((1e-3,), {"delay_s": 1e4}, "Delta delay"),
    ((1e-3,), {"count": 0}, "Delta count"),
    ((1e-3,), {"count": 65537}, "Delta count"),
    ((1e-3,), {"count": 2.5}, "whole number"),
    ((float("nan"),), {}, "Delta high current"),
])
def test_6221_delta_refuses_what_the_6221_cannot_do_and_sends_nothing(args, kwargs, match):
    with expected_protocol(Keithley6221Bias, []) as source:
        with pytest.raises(ValueError, match=match):
            source.delta_configure(*args, **kwargs)


def test_6221_delta_without_a_2182a_is_refused_before_any_setting():
    with expected_protocol(Keithley6221Bias, [(":SOUR:DELT:NVPR?", "0")]) as source:
        with pytest.raises(InstrumentError, match="no 2182A"):
            source.delta_configure(1e-3)


def test_6221_delta_start_or_read_before_configure_sends_nothing():
    with expected_protocol(Keithley6221Bias, []) as source:
        with pytest.raises(InstrumentError, match="delta_configure"):
            source.delta_start()
        with pytest.raises(InstrumentError, match="delta_configure"):
            source.delta_read()


def test_6221_delta_that_stops_short_times_out_naming_compliance():
    protocol = DELTA_SETUP + DELTA_START + [(":TRAC:POIN:ACT?", "1"), (":STAT:MEAS:COND?", "8")]
    with expected_protocol(Keithley6221Bias, protocol) as source:
        source.delta_configure(100e-6, -50e-6, delay_s=0.01, count=3)
        source.delta_start()
        with pytest.raises(InstrumentError, match=r"1 of 3 Delta readings.*in compliance"):
            source.delta_read(timeout_s=0.0)


def test_6221_no_dc_reading_while_delta_runs_and_shutdown_aborts_it_first():
    protocol = DELTA_SETUP + DELTA_START + [(":SOUR:SWE:ABOR", None), (":SOUR:CURR 0", None), ("OUTPut 0", None)]
    with expected_protocol(Keithley6221Bias, protocol) as source:
        source.delta_configure(100e-6, -50e-6, delay_s=0.01, count=3)
        source.delta_start()
        with pytest.raises(InstrumentError, match="Delta"):
            source.measure_voltage()
        source.shutdown()


# -- 2400: fixed ranges ---------------------------------------------------------------


def test_2400_fixed_source_and_sense_ranges_are_set_once():
    protocol = K2400_INIT + [
        (":SOURCE:FUNCTION CURR", None), (":SOURCE:CURRENT:RANGE 0.01", None),
        (":SENS:FUNC 'VOLT'", None), (":SENS:VOLT:NPLC 0.1", None), (":SENS:VOLT:RANG 2", None),
        (":SYST:RSEN ON", None), NO_ERROR,
        (":SOURCE:CURRENT 0.0105", None), NO_ERROR,  # 105 % of the 10 mA range
        (":SOURCE:CURRENT -0.001", None), NO_ERROR,
    ]
    with expected_protocol(Keithley2400Bias, protocol, source_range=10e-3, sense_range=2.0, nplc=0.1,
                           four_wire=True) as source:
        source.set_current(10.5e-3)
        source.set_current(-1e-3)
        with pytest.raises(ValueError, match="fixed source range"):
            source.set_current(11e-3)


@pytest.mark.parametrize("options, match", [
    ({"source_range": 1.2}, "source range"),  # A: beyond 1.05 A
    ({"source_range": 0.0}, "source range"),
    ({"sense_range": 300.0}, "sense range"),  # V, sensing volts of a current source
    ({"source": "voltage", "source_range": 250.0}, "source range"),
    ({"source": "voltage", "sense_range": 2.0}, "sense range"),  # A, sensing amps of a voltage source
    ({"source": "power"}, "'current' or 'voltage'"),
    ({"nplc": 20}, "NPLC"),
])
def test_2400_impossible_options_raise_before_anything_is_sent(options, match):
    with pytest.raises(ValueError, match=match):
        with expected_protocol(Keithley2400Bias, [], **options):
            pass


# -- 2400: voltage source ---------------------------------------------------------------


def test_2400_voltage_source_sets_voltage_and_current_compliance_and_measures_current():
    protocol = K2400_INIT + K2400_CONFIGURE_V + [
        (":SOURCE:VOLTAGE 0.5", None), NO_ERROR,
        (":SOURCE:VOLTAGE?", "5.000000E-01"),
        (":SENSE:CURRENT:PROTECTION 0.001", None), NO_ERROR,
        ("OUTPUT 1", None),
        (":READ?", "2.000000E-01,1.000000E-03,9.910000E+37,1.2E+01,1.0E+00"),
        (":READ?", "2.000000E-01,1.000000E-03,9.910000E+37,1.3E+01,1.0E+00"),
        (":SENS:CURR:PROT:TRIP?", "1"),
        (":SOURCE:VOLTAGE 0", None), ("OUTPUT 0", None),  # shutdown: 0 V, then off
    ]
    with expected_protocol(Keithley2400Bias, protocol, source="voltage") as source:
        source.set_voltage(0.5)
        assert source.get_voltage() == 0.5
        source.set_compliance_current(1e-3)
        source.output_on()
        assert source.measure_current() == 1e-3
        assert source.measure_voltage() == 0.2  # the real output, held by the current compliance
        assert source.compliance_tripped() is True
        source.shutdown()


def test_2400_voltage_source_fixed_ranges():
    protocol = K2400_INIT + [
        (":SOURCE:FUNCTION VOLT", None), (":SOURCE:VOLTAGE:RANGE 2", None),
        (":SENS:FUNC 'CURR','VOLT'", None), (":SENS:CURR:NPLC 1", None), (":SENS:CURR:RANG 0.0001", None),
        (":SYST:RSEN OFF", None), NO_ERROR,
        (":SOURCE:VOLTAGE -2.1", None), NO_ERROR,
    ]
    with expected_protocol(Keithley2400Bias, protocol, source="voltage", source_range=2.0,
                           sense_range=1e-4) as source:
        source.set_voltage(-2.1)
        with pytest.raises(ValueError, match="fixed source range"):
            source.set_voltage(3.0)


def test_2400_each_source_refuses_the_other_ones_methods_and_sends_nothing():
    with expected_protocol(Keithley2400Bias, K2400_INIT, source="voltage") as source:
        for call in (lambda: source.set_current(1e-3), lambda: source.set_compliance_voltage(5),
                     source.get_current):
            with pytest.raises(ValueError, match="voltage source.*source = 'voltage'"):
                call()
    with expected_protocol(Keithley2400Bias, K2400_INIT) as source:
        for call in (lambda: source.set_voltage(1.0), lambda: source.set_compliance_current(1e-3),
                     source.get_voltage):
            with pytest.raises(ValueError, match="current source"):
                call()


@pytest.mark.parametrize("call, match", [
    (lambda s: s.set_voltage(211.0), "source voltage"),
    (lambda s: s.set_voltage(float("nan")), "source voltage"),
    (lambda s: s.set_compliance_current(0.0), "compliance current"),
    (lambda s: s.set_compliance_current(1.1), "compliance current"),
])
def test_2400_voltage_source_refuses_out_of_range_and_sends_nothing(call, match):
    with expected_protocol(Keithley2400Bias, K2400_INIT, source="voltage") as source:
        with pytest.raises(ValueError, match=match):
            call(source)


def test_2400_power_envelope_is_checked_before_sending():
    """Above 105 mA only up to 21 V of compliance; above 21 V only up to 105 mA (User's Manual)."""
    protocol = K2400_INIT + [(":SENSE:VOLTAGE:PROTECTION 50", None), NO_ERROR]
    with expected_protocol(Keithley2400Bias, protocol) as source:
        source.set_compliance_voltage(50)
        with pytest.raises(ValueError, match="power envelope"):
            source.set_current(0.5)
    protocol = K2400_INIT + [(":SENSE:CURRENT:PROTECTION 0.5", None), NO_ERROR]
    with expected_protocol(Keithley2400Bias, protocol, source="voltage") as source:
        source.set_compliance_current(0.5)
        with pytest.raises(ValueError, match="power envelope"):
            source.set_voltage(100.0)
    with expected_protocol(Keithley2400Bias, K2400_INIT, source="voltage", source_range=200.0) as source:
        with pytest.raises(ValueError, match="power envelope"):  # the 200 V range: at most 105 mA, whatever V
            source.set_compliance_current(0.2)


# -- the bench's limits hold the extra methods too -----------------------------------------

LIMITS = Limits(max_bias_current=5e-3, max_compliance_voltage=10.0, max_pulse_amplitude=1.0)


def test_guard_limits_a_voltage_source_2400_before_anything_is_sent():
    with expected_protocol(Keithley2400Bias, K2400_INIT, source="voltage") as source:
        guarded = BiasSourceGuard(source, LIMITS, "bias_source (keithley2400)")
        with pytest.raises(LimitError, match="max_compliance_voltage"):
            guarded.set_voltage(-11.0)
        with pytest.raises(LimitError, match="max_bias_current"):
            guarded.set_compliance_current(6e-3)
        with pytest.raises(LimitError, match="max_bias_current"):
            guarded.set_compliance_current(0.0)


def test_guard_limits_the_delta_currents_before_anything_is_sent():
    with expected_protocol(Keithley6221Bias, []) as source:
        guarded = BiasSourceGuard(source, LIMITS, "bias_source (keithley6221)")
        with pytest.raises(LimitError, match="Delta high current"):
            guarded.delta_configure(6e-3)
        with pytest.raises(LimitError, match="Delta low current"):
            guarded.delta_configure(1e-3, -6e-3)
        with pytest.raises(AttributeError, match="set_voltage"):
            guarded.set_voltage(1.0)  # a 6221 sources current only


# -- over SCPI, against the twins' dialects (``served``: tests/conftest.py) ---------------------

class _Resistor:
    """A CurrentDrivenSample of one fixed resistor: what SimBiasSource drives."""

    n_oscillators = 1

    def __init__(self, ohms: float):
        self.ohms, self.bias = ohms, 0.0

    def resistance(self, oscillator: int) -> float:
        return self.ohms

    def set_bias(self, oscillator: int, current: float) -> None:
        self.bias = current


@pytest.mark.parametrize("twin", [RecordingBiasSource(resistance=100.0), SimBiasSource(_Resistor(100.0))],
                         ids=["recorder", "sim-bias-source"])
def test_6221_delta_over_scpi_reads_the_twins_resistance(served, twin):
    source, _ = served(Keithley6221Bias, "keithley6221", twin)
    source.set_compliance_voltage(10.0)
    source.set_current(1e-3)
    source.delta_configure(2e-3, -1e-3, delay_s=0.01, count=5)
    source.delta_start()
    times, volts = source.delta_read(timeout_s=5.0)
    np.testing.assert_allclose(volts, 100.0 * (2e-3 - -1e-3) / 2)  # R·(I_high − I_low)/2
    assert np.all(np.diff(times) > 0) and times[0] == 0.0
    source.delta_abort()
    assert source.check_errors() == []
    assert source.get_current() == pytest.approx(1e-3)  # the DC setpoint is back after the test
    source.shutdown()


def test_6221_compliance_status_over_scpi(served):
    source, _ = served(Keithley6221Bias, "keithley6221", RecordingBiasSource(resistance=100.0))
    source.set_compliance_voltage(1.0)
    source.set_current(5e-3)
    assert source.compliance_tripped() is False  # output off
    source.output_on()  # 0.5 V: within 1 V
    assert source.compliance_tripped() is False
    source.set_current(20e-3)  # 2 V wanted, 1 V allowed
    assert source.compliance_tripped() is True
    source.set_current(5e-3)
    assert source.compliance_tripped() is False
    assert source.compliance_since_last_read() is True  # latched, and the read clears it
    assert source.compliance_since_last_read() is False
    assert source.check_errors() == []
    source.shutdown()


@pytest.mark.parametrize("twin", [RecordingBiasSource(resistance=200.0), SimBiasSource(_Resistor(200.0))],
                         ids=["recorder", "sim-bias-source"])
def test_2400_voltage_source_over_scpi_reads_the_current_through_the_twin(served, twin):
    source, _ = served(Keithley2400Bias, "keithley2400", twin, source="voltage", source_range=2.0)
    source.set_compliance_current(0.01)
    source.set_voltage(0.5)
    source.output_on()
    assert source.measure_current() == pytest.approx(2.5e-3)  # 0.5 V / 200 Ω
    assert source.measure_voltage() == pytest.approx(0.5)
    assert source.compliance_tripped() is False
    source.set_compliance_current(1e-3)  # the compliance now holds the output: 1 mA, 0.2 V
    assert source.measure_current() == pytest.approx(1e-3)
    assert source.measure_voltage() == pytest.approx(0.2)
    assert source.compliance_tripped() is True
    assert float(source.ask(":SOUR:VOLT:RANG?")) == 2.0
    assert source.check_errors() == []
    source.shutdown()
    assert source.check_errors() == []
    assert source.measure_voltage() == 0.0  # 0 V and the output off


def test_2400_current_source_with_fixed_ranges_over_scpi(served):
    source, _ = served(Keithley2400Bias, "keithley2400", RecordingBiasSource(resistance=100.0), source_range=10e-3,
                       sense_range=2.0)
    source.set_compliance_voltage(5.0)
    source.set_current(5e-3)
    source.output_on()
    assert source.measure_voltage() == pytest.approx(0.5)
    assert float(source.ask(":SOUR:CURR:RANG?")) == 0.01
    assert source.ask(":SENS:VOLT:RANG:AUTO?").strip() == "0" and float(source.ask(":SENS:VOLT:RANG?")) == 2.0
    assert source.check_errors() == []
    source.shutdown()
