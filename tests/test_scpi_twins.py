"""Cross-check: the bench's twins driven in-process and the same twins driven through the real
drivers, PyVISA and the SCPI server give the same results (up to what the wire format rounds)."""

from __future__ import annotations

import numpy as np
import pytest

twins = pytest.importorskip("hil.sim.twins")
oscillator = pytest.importorskip("hil.sim.oscillator")

from hil.drivers.keithley import Keithley6221Bias  # noqa: E402
from hil.drivers.keysight_33500b import Keysight33500BPulse  # noqa: E402
from hil.drivers.keysight_81160a import Keysight81160APulse  # noqa: E402
from hil.drivers.keysight_xseries import KeysightXSeriesAnalyser  # noqa: E402
from hil.sim.scpi import serve_twins  # noqa: E402

VISA = {"visa_library": "@py", "read_termination": "\n", "write_termination": "\n", "timeout": 10000}


def oscillator_protocol(bias, analyser):
    """Bias one oscillator, read its voltage, take a sweep and a zero span."""
    bias.set_compliance_voltage(10.0)
    bias.set_current(3e-3)
    bias.output_on()
    volts = bias.measure_voltage()
    analyser.configure_sweep(4.0e9, 400e6, 1e6, 1e6, 401)
    frequency, power = analyser.sweep()
    time, zero = analyser.zero_span(float(frequency[np.argmax(power)]), 1e6, 1e-6, 51)
    bias.output_off()
    return volts, frequency, power, time, zero


def test_oscillator_twins_in_process_and_over_scpi_agree():
    local_sample = oscillator.OscillatorArray(n=2)
    local = oscillator_protocol(twins.SimBiasSource(local_sample), twins.SimSpectrumAnalyser(local_sample))

    sample = oscillator.OscillatorArray(n=2)
    served = {"bias_source": ("keithley6221", twins.SimBiasSource(sample)),
              "spectrum_analyser": ("keysight_xseries", twins.SimSpectrumAnalyser(sample))}
    with serve_twins(served) as group:
        bias = Keithley6221Bias(group.resources["bias_source"], **VISA)
        analyser = KeysightXSeriesAnalyser(group.resources["spectrum_analyser"], **VISA)
        try:
            remote = oscillator_protocol(bias, analyser)
            assert bias.check_errors() == [] and analyser.check_errors() == []
        finally:
            bias.close()
            analyser.close()

    volts, frequency, power, time, zero = remote
    assert volts == local[0] > 0
    np.testing.assert_allclose(frequency, local[1], rtol=1e-15)
    np.testing.assert_array_equal(power, local[2].astype(np.float32))  # REAL,32 on the wire
    np.testing.assert_allclose(time, local[3], rtol=1e-15)
    np.testing.assert_array_equal(zero, local[4].astype(np.float32))


class FieldProbe:
    """A field-driven sample that only keeps the field it was started with."""

    def start(self, field):
        self.field = field

    def advance_to(self, time):
        pass

    def sz(self):
        return np.zeros((2, 2), np.float32)


@pytest.mark.parametrize("driver_cls, dialect, sigma", [
    (Keysight81160APulse, "keysight81160a", 10e-9),
    (Keysight33500BPulse, "keysight33500b", 100e-9),
])
def test_pulse_twin_field_in_process_and_over_scpi_agree(driver_cls, dialect, sigma):
    amplitude, delay = 2.5, 30 * sigma
    local_probe = FieldProbe()
    local = twins.SimPulseGenerator(local_probe)
    local.set_gaussian_pulse(amplitude, sigma, delay)
    local.arm()
    local.output_on()
    local.trigger()

    probe = FieldProbe()
    with serve_twins({"pulse_generator": (dialect, twins.SimPulseGenerator(probe))}) as group:
        gen = driver_cls(group.resources["pulse_generator"], **VISA)
        try:
            gen.set_gaussian_pulse(amplitude, sigma, delay)
            gen.arm()
            gen.output_on()
            gen.trigger()
            assert gen.check_errors() == []
        finally:
            gen.close()

    times = np.linspace(0, delay + 8 * sigma, 2001)
    expected = np.array([local_probe.field(t) for t in times])
    got = np.array([probe.field(t) for t in times])
    peak = np.linalg.norm(expected, axis=1).max()
    assert peak == pytest.approx(0.4 * amplitude)  # 0.4 T/V coil
    assert np.abs(got - expected).max() < 1e-3 * peak  # DAC steps and sampling only
