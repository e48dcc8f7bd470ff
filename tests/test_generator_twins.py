"""The pulse-generator twins share their instrument checks: bad waveforms and unarmed triggers are
refused; and the generator drivers' bench settings (polarity, trigger slope/level, sync out) reach
the twins over SCPI with the physics they mean (an inverted output flips the coil field), the
stock pymeasure clients included."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pymeasure.instruments.agilent.agilent33500 import Agilent33500
from pymeasure.instruments.keysight.keysight81160A import Keysight81160A

from hil.drivers.keysight_33500b import Keysight33500BPulse
from hil.drivers.keysight_81160a import Keysight81160APulse
from hil.errors import InstrumentError
from hil.sim.chip import ChipInputAWG, OscillatorChip
from hil.sim.scpi.errors import ScpiError
from hil.sim.scpi.recorders import RecordingPulseGenerator
from hil.sim.twins.pulse import SimPulseGenerator
from hil.sim.twins.samples import skyrmion_sample


def generators():
    return [SimPulseGenerator(skyrmion_sample(size=16), max_amplitude=5.0), ChipInputAWG(OscillatorChip(), max_amplitude=5.0)]


@pytest.mark.parametrize("index", [0, 1])
@pytest.mark.parametrize("samples, rate, match", [
    ([0.0, np.nan, 1.0], 1e9, "finite"),
    ([[0.0, 1.0]], 1e9, "1-D"),
    ([], 1e9, "non-empty"),
    ([0.0, 6.0], 1e9, "range"),
    ([0.0, 1.0], 1e15, "range"),
])
def test_bad_arbitrary_waveforms_are_refused(index, samples, rate, match):
    gen = generators()[index]
    with pytest.raises(ValueError, match=match):
        gen.set_arbitrary_pulse(np.asarray(samples, dtype=float), rate)


@pytest.mark.parametrize("index", [0, 1])
def test_trigger_needs_arm_and_shutdown_disarms(index):
    gen = generators()[index]
    gen.set_gaussian_pulse(1.0, 1e-9, 2e-9)
    with pytest.raises(InstrumentError, match="not armed"):
        gen.trigger()
    gen.arm()
    gen.output_on()
    gen.trigger()
    gen.shutdown()
    assert (gen.armed, gen.output) == (False, False)
    assert [m for m, _ in gen.received] == ["set_gaussian_pulse", "trigger", "arm", "output_on", "trigger", "shutdown"]


# -- the drivers' bench settings over SCPI, against the twins ------------------------------------------------

SETTINGS = {
    "keysight81160a": {"polarity": "inverted", "trigger_slope": "either", "trigger_level": 0.8},
    "keysight33500b": {"polarity": "inverted", "trigger_slope": "negative", "sync_out": False},
}


@pytest.mark.parametrize("driver_cls, dialect_name, sigma", [
    (Keysight81160APulse, "keysight81160a", 4e-9),
    (Keysight33500BPulse, "keysight33500b", 50e-9),
])
def test_inverted_output_reaches_the_twin_as_minus_the_pulse_and_the_settings_read_back(
        served, driver_cls, dialect_name, sigma):
    twin = RecordingPulseGenerator()
    gen, dialect = served(driver_cls, dialect_name, twin, **SETTINGS[dialect_name])
    amplitude, delay = 1.5, 20 * sigma
    gen.set_gaussian_pulse(amplitude, sigma, delay)
    gen.arm()
    gen.output_on()
    gen.trigger()
    assert gen.check_errors() == []
    (samples, rate), = twin.fired
    t = np.arange(samples.size) / rate
    expected = -amplitude * np.exp(-0.5 * ((t - delay) / sigma) ** 2)
    assert samples.min() == pytest.approx(-amplitude, rel=1e-3)  # the pulse points down, from a 0 V baseline
    assert np.max(np.abs(samples - expected)) < 2e-3 * amplitude
    assert t[np.argmin(samples)] == pytest.approx(delay, abs=2.0 / rate)
    assert dialect.channels[1].polarity == "INV"
    if dialect_name == "keysight81160a":
        assert (dialect.state.arm_slope, dialect.state.arm_level) == ("EITH", 0.8)
    else:
        assert (dialect.channels[1].trigger_slope, dialect.state.sync) == ("NEG", False)


def test_the_twin_field_flips_with_the_polarity(served):
    fields = {}
    for polarity in ("normal", "inverted"):
        twin = SimPulseGenerator(skyrmion_sample(size=16), max_amplitude=5.0)
        gen, _ = served(Keysight81160APulse, "keysight81160a", twin, polarity=polarity)
        gen.set_gaussian_pulse(1.0, 4e-9, 40e-9)
        gen.arm()
        gen.output_on()
        gen.trigger()
        assert gen.check_errors() == [] and twin.fired == 1
        fields[polarity] = twin.field(40e-9)
    assert np.linalg.norm(fields["normal"]) == pytest.approx(0.4, rel=1e-3)  # 1 V × 0.4 T/V at the peak
    np.testing.assert_allclose(fields["inverted"], -fields["normal"], atol=1e-6)


def test_the_33500b_sync_is_routed_to_the_drivers_output_on_the_twin(served):
    gen, dialect = served(Keysight33500BPulse, "keysight33500b", RecordingPulseGenerator(), channel=2, sync_out=True)
    dialect.state.sync = False
    gen.output_on()
    assert gen.check_errors() == []
    assert (dialect.state.sync, dialect.state.sync_source, dialect.channels[2].output) == (True, "CH2", True)


def test_a_setting_the_twin_refuses_reaches_the_driver_as_an_instrument_error(served):
    gen, dialect = served(Keysight81160APulse, "keysight81160a", RecordingPulseGenerator(), trigger_level=math.pi)

    def refuse(call):
        raise ScpiError(-222, "trigger level out of range")

    dialect._arm_level = refuse  # as an instrument with a narrower threshold range would answer
    with pytest.raises(InstrumentError, match=r"81160A refused trigger level 3.14159 V: -222"):
        gen.arm()


def test_stock_agilent33500_sets_and_reads_the_new_33500b_commands(served):
    awg, dialect = served(Agilent33500, "keysight33500b", RecordingPulseGenerator())
    for command, query, answer in [("OUTP1:POL INV", "OUTP1:POL?", "INV"), ("TRIG1:SLOP NEG", "TRIG1:SLOP?", "NEG"),
                                   ("OUTP:SYNC OFF", "OUTP:SYNC?", "0"), ("OUTP:SYNC:SOUR CH2", "OUTP:SYNC:SOUR?", "CH2"),
                                   ("OUTPUT2:POLARITY NORMAL", "OUTP2:POL?", "NORM")]:
        awg.write(command)
        assert awg.ask(query).strip() == answer, command
    assert [e for e in awg.check_errors() if int(float(e[0])) != 0] == []
    awg.write("TRIG1:LEV 1")  # no trigger level on the 33500B, as on the instrument
    awg.write("OUTP1:POL UPSIDE")
    assert [int(float(e[0])) for e in awg.check_errors()] == [-113, -224]
    assert dialect.channels[1].polarity == "INV"  # the refused word changed nothing


def test_stock_keysight81160a_sets_and_reads_the_new_81160a_commands(served):
    gen, dialect = served(Keysight81160A, "keysight81160a", RecordingPulseGenerator())
    for command, query, answer in [(":OUTP2:POL INV", ":OUTP2:POL?", "INV"), (":ARM:SLOP EITH", ":ARM:SLOP?", "EITH"),
                                   (":ARM:SLOP1 NEG", ":ARM:SLOP?", "NEG"), (":ARM:LEV 1.25", ":ARM:LEV?", "1.25"),
                                   (":ARM:LEVEL -0.5V", ":ARM:LEV1?", "-0.5")]:
        gen.write(command)
        assert gen.ask(query).strip() == answer, command
    assert [e for e in gen.check_errors() if int(float(e[0])) != 0] == []
    assert (dialect.channels[1].polarity, dialect.channels[2].polarity) == ("NORM", "INV")
