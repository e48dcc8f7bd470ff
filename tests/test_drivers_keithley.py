"""Keithley 6221 and 2400 bias drivers: exact bytes of every role method; an out-of-range current
raises and nothing is sent (pymeasure's 6221 would have clamped it)."""

from __future__ import annotations

import math

import pytest
from pymeasure.adapters import ProtocolAdapter
from pymeasure.test import expected_protocol

from hil.drivers.keithley import Keithley2400Bias, Keithley6221Bias
from hil.errors import InstrumentError
from hil.roles import BiasSource

K2400_INIT = [(":FORMAT:ELEMENTS VOLTAGE, CURRENT, RESISTANCE, TIME, STATUS", None)]
NO_ERROR = ("SYST:ERR?", '0,"No error"')
#: Once, before the first setpoint or reading: current source, auto range, voltage sense, NPLC, 2-wire.
K2400_CONFIGURE = [(":SOURCE:FUNCTION CURR", None), (":SOURCE:CURRENT:RANGE:AUTO 1", None),
                   (":SENS:FUNC 'VOLT'", None), (":SENS:VOLT:NPLC 1", None), (":SYST:RSEN OFF", None), NO_ERROR]


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
