"""Every real driver in drivers/, through real PyVISA, against the dialect of its model fronting a
recording stand-in: the role call on the driver arrives as the same role call on the stand-in,
and the instrument's error queue stays empty (every command the driver sends is understood).
The ``served`` fixture is tests/conftest.py's."""

from __future__ import annotations

import numpy as np
import pytest

from hil.drivers.keithley import Keithley2400Bias, Keithley6221Bias
from hil.drivers.keysight_33500b import Keysight33500BPulse
from hil.drivers.keysight_81160a import Keysight81160APulse
from hil.drivers.keysight_xseries import KeysightXSeriesAnalyser
from hil.drivers.rs_fsv import RohdeSchwarzFSVAnalyser
from hil.errors import InstrumentError
from hil.sim.scpi.recorders import RecordingBiasSource, RecordingPulseGenerator, RecordingSpectrumAnalyser


@pytest.mark.parametrize("driver_cls, dialect, sigma", [
    (Keysight81160APulse, "keysight81160a", 4e-9),
    (Keysight33500BPulse, "keysight33500b", 50e-9),
])
def test_a_gaussian_pulse_reaches_the_twin_at_the_right_time_and_height(served, driver_cls, dialect, sigma):
    twin = RecordingPulseGenerator()
    gen, _ = served(driver_cls, dialect, twin)
    amplitude, delay = 1.5, 20 * sigma
    gen.set_gaussian_pulse(amplitude, sigma, delay)
    gen.arm()
    gen.output_on()
    gen.trigger()
    gen.trigger()
    assert gen.check_errors() == []
    assert twin.names() == ["output_off", "output_on", "set_arbitrary_pulse", "arm", "trigger", "trigger"]
    (samples, rate), _ = twin.fired
    t = np.arange(samples.size) / rate
    top = np.flatnonzero(samples == samples.max())  # the DAC flattens the top over a few samples
    assert t[top].mean() == pytest.approx(delay, abs=1.0 / rate)  # the channel/trigger delay included
    assert samples.max() == pytest.approx(amplitude, rel=1e-4)
    expected = amplitude * np.exp(-0.5 * ((t - delay) / sigma) ** 2)
    assert np.max(np.abs(samples - expected)) < 2e-3 * amplitude  # DAC quantisation only
    gen.shutdown()
    assert gen.check_errors() == []  # a query: everything written before it has run
    assert twin.names()[-1] == "output_off"


@pytest.mark.parametrize("driver_cls, dialect", [
    (Keysight81160APulse, "keysight81160a"),
    (Keysight33500BPulse, "keysight33500b"),
])
def test_an_arbitrary_pulse_arrives_as_given(served, driver_cls, dialect):
    twin = RecordingPulseGenerator()
    gen, _ = served(driver_cls, dialect, twin)
    samples = np.concatenate([np.zeros(4), np.linspace(0, -2.0, 8), np.zeros(4)])
    gen.set_arbitrary_pulse(samples, 1e8)
    gen.arm()
    gen.trigger()
    assert gen.check_errors() == []
    (played, rate), = twin.fired
    assert rate == pytest.approx(1e8)
    np.testing.assert_allclose(played, samples, atol=2.0 / 8191)


@pytest.mark.parametrize("driver_cls, dialect, points", [
    (KeysightXSeriesAnalyser, "keysight_xseries", 1001),
    (RohdeSchwarzFSVAnalyser, "rs_fsv", 691),
])
def test_sweep_returns_the_trace_the_twin_produced(served, driver_cls, dialect, points):
    twin = RecordingSpectrumAnalyser(line_frequency=5.01e9)
    sa, _ = served(driver_cls, dialect, twin)
    sa.configure_sweep(5e9, 100e6, 1e5, 3e4, points)
    frequency, power = sa.sweep()
    assert sa.check_errors() == []
    assert twin.calls == [("configure_sweep", (5e9, 100e6, 1e5, 3e4, points)), ("sweep", ())]
    twin_frequency, twin_power = twin.sweep()
    np.testing.assert_array_equal(power, twin_power.astype(np.float32))  # REAL,32 on the wire
    np.testing.assert_allclose(frequency, twin_frequency)
    assert frequency[np.argmax(power)] == pytest.approx(5.01e9, abs=100e6 / (points - 1))


@pytest.mark.parametrize("driver_cls, dialect", [
    (KeysightXSeriesAnalyser, "keysight_xseries"),
    (RohdeSchwarzFSVAnalyser, "rs_fsv"),
])
def test_zero_span_returns_power_versus_time(served, driver_cls, dialect):
    twin = RecordingSpectrumAnalyser(line_frequency=5e9, line_power=-30.0)
    sa, _ = served(driver_cls, dialect, twin)
    time, power = sa.zero_span(5e9, 1e6, 2e-3, 201)
    assert sa.check_errors() == []
    assert twin.calls == [("zero_span", (5e9, 1e6, 2e-3, 201))]
    np.testing.assert_allclose(time, np.linspace(0, 2e-3, 201))
    np.testing.assert_allclose(power, -30.0, atol=1e-3)
    sa.shutdown()


@pytest.mark.parametrize("driver_cls, dialect", [
    (Keithley6221Bias, "keithley6221"),
    (Keithley2400Bias, "keithley2400"),
])
def test_bias_source_round_trip(served, driver_cls, dialect):
    twin = RecordingBiasSource(resistance=250.0)
    source, _ = served(driver_cls, dialect, twin)
    source.set_compliance_voltage(5.0)
    source.set_current(2e-3)
    source.output_on()
    assert source.get_current() == 2e-3
    assert source.measure_voltage() == pytest.approx(0.5)
    source.set_current(0.1)  # 25 V into 250 Ω: the compliance holds it at 5 V
    assert source.measure_voltage() == pytest.approx(5.0)
    assert source.check_errors() == []
    assert (twin.current, twin.compliance, twin.output) == (0.1, 5.0, True)
    source.shutdown()
    assert source.check_errors() == []  # a query: everything written before it has run
    assert (twin.current, twin.output) == (0.0, False)


def test_a_refusal_by_the_twin_reaches_the_driver_as_an_instrument_error(served):
    twin = RecordingBiasSource(max_current=1e-3)
    source, _ = served(Keithley6221Bias, "keithley6221", twin)
    with pytest.raises(InstrumentError, match=r"6221 refused source current 0.005 A: -222.*:SOUR:CURR"):
        source.set_current(5e-3)  # within the 6221's range, beyond this stand-in's
    assert twin.current == 0.0 and source.check_errors() == []  # the check emptied the queue
    assert source.get_current() == 0.0


def test_drivers_switch_nagle_off_on_socket_resources(served):
    """pyvisa-py leaves Nagle on for SOCKET resources; a write-write-query sequence would then wait
    for a delayed ACK (40 ms a sweep on Linux)."""
    import socket

    sa, _ = served(KeysightXSeriesAnalyser, "keysight_xseries", RecordingSpectrumAnalyser())
    connection = sa.adapter.connection
    sock = connection.visalib.sessions[connection.session].interface
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1


@pytest.mark.parametrize("driver_cls, dialect", [
    (KeysightXSeriesAnalyser, "keysight_xseries"),
    (RohdeSchwarzFSVAnalyser, "rs_fsv"),
])
def test_analyser_bench_controls_are_understood_by_the_dialect(served, driver_cls, dialect):
    sa, _ = served(driver_cls, dialect, RecordingSpectrumAnalyser(line_frequency=5.01e9, line_power=-20.0))
    settings = {"reference_level": -10.0, "attenuation": 20.0, "attenuation_auto": False, "preamp_enabled": True,
                "detector": "POS", "averaging_enabled": True, "average_count": 10, "trace_mode": "MAXH",
                "rbw_auto": False, "vbw_auto": True, "sweep_time_auto": True, "reference_source": "EXT"}
    for name, value in settings.items():
        setattr(sa, name, value)
        assert getattr(sa, name) == value, name
    sa.configure_sweep(5e9, 100e6, 1e5, 3e4, 1001)
    sa.sweep()
    frequency, power = sa.peak_search()
    assert frequency == pytest.approx(5.01e9, abs=100e6 / 1000) and power == pytest.approx(-20.0, abs=1.0)
    assert sa.check_errors() == []
