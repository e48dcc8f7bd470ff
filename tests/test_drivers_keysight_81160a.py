"""Keysight 81160A pulse driver: the exact bytes of every role method, and refusals that send nothing."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pymeasure.test import expected_protocol

from hil.drivers.keysight_81160a import Keysight81160APulse
from hil.roles import PulseGenerator


NO_ERROR = (":SYST:ERR?", '0,"No error"')
#: Before the first upload: the load setting, read back (bench option ``load``, default 50 Ω).
LOAD_50 = [(":OUTP1:LOAD 50", None), (":OUTP1:LOAD?", "+5.000000000000000E+01"), NO_ERROR]


def upload(points) -> list:
    """Load setting (first upload), byte order, then the block: what precedes the levels."""
    return LOAD_50 + [(":FORM:BORD NORM", None), (dac_block(points), None)]


def dac_block(points: np.ndarray) -> bytes:
    """``:DATA1:DAC VOLATILE,`` + an IEEE block of big-endian int16 + LF, as the instrument expects."""
    payload = np.asarray(points, dtype=">i2").tobytes()
    length = str(len(payload)).encode()
    return b":DATA1:DAC VOLATILE,#" + str(len(length)).encode() + length + payload + b"\n"


def levels(frequency: str, amplitude: str, offset: str, delay: str) -> list[tuple[str, None]]:
    return [
        (":FUNC1:USER VOLATILE", None),
        (":FUNC1 USER", None),
        (f":FREQ1 {frequency}", None),
        (":VOLT1:OFFS 0", None),
        (f":VOLT1 {amplitude}", None),
        (f":VOLT1:OFFS {offset}", None),
        (f":PULS:DEL1 {delay}", None),
        NO_ERROR,
    ]


def test_satisfies_the_pulse_generator_role():
    with expected_protocol(Keysight81160APulse, []) as gen:
        assert isinstance(gen, PulseGenerator)


def test_gaussian_pulse_is_16384_dac_points_over_ten_sigma_with_the_rest_of_the_delay_on_the_channel():
    amplitude, sigma, delay = 2.0, 2e-9, 50e-9
    rate = 16384 / (10 * sigma)  # 1638.4 points per sigma
    t = (np.arange(16384) - 8192) / rate  # the centre is point 8192
    volts = amplitude * np.exp(-0.5 * (t / sigma) ** 2)
    dac = np.rint((volts - 1.0) / 1.0 * 8191)  # 0 V .. 2 V → amplitude 2 Vpp, offset 1 V
    assert dac[8192] == 8191 and dac[0] == -8191
    protocol = upload(dac) + levels("50000000", "2", "1", "4e-08")  # 50 − 5σ = 40 ns
    with expected_protocol(Keysight81160APulse, protocol) as gen:
        gen.set_gaussian_pulse(amplitude, sigma, delay)


def test_negative_gaussian_keeps_its_sign_and_a_zero_baseline():
    sigma = 2e-9
    rate = 16384 / (10 * sigma)
    t = (np.arange(16384) - 8192) / rate
    volts = -1.5 * np.exp(-0.5 * (t / sigma) ** 2)
    dac = np.rint((volts + 0.75) / 0.75 * 8191)
    assert dac[8192] == -8191 and dac[-1] == 8191
    protocol = upload(dac) + levels("50000000", "1.5", "-0.75", "0")  # delay exactly 5σ
    with expected_protocol(Keysight81160APulse, protocol) as gen:
        gen.set_gaussian_pulse(-1.5, sigma, 5 * sigma)


def test_gaussian_with_a_delay_shorter_than_five_sigma_starts_at_the_trigger():
    sigma, delay = 2e-9, 3e-9
    rate = 16384 / (10 * sigma)
    centre = math.floor(delay * rate)  # 2457: the leading tail is cut, the centre stays on a point
    volts = np.exp(-0.5 * (((np.arange(16384) - centre) / rate) / sigma) ** 2)
    dac = np.rint((volts - 0.5) / 0.5 * 8191)
    residual = f"{delay - centre / rate:.12g}"
    with expected_protocol(Keysight81160APulse, upload(dac) + levels("50000000", "1", "0.5", residual)) as gen:
        gen.set_gaussian_pulse(1.0, sigma, delay)


def test_arbitrary_pulse_is_uploaded_as_given_and_replayed_at_rate_over_points():
    samples = np.array([0.0, 0.5, 1.0, 0.5, 0.0])
    protocol = upload([-8191, 0, 8191, 0, -8191]) + levels("200000000", "1", "0.5", "0")
    with expected_protocol(Keysight81160APulse, protocol) as gen:
        gen.set_arbitrary_pulse(samples, 1e9)


def test_small_pulse_plays_at_the_minimum_amplitude_with_smaller_dac_values():
    samples = np.array([0.0, 0.01, 0.0])  # 10 mV: below the 50 mVpp minimum, still exact volts
    dac = np.rint((samples - 0.005) / 0.025 * 8191)
    protocol = upload(dac) + levels("1000000", "0.05", "0.005", "0")
    with expected_protocol(Keysight81160APulse, protocol) as gen:
        gen.set_arbitrary_pulse(samples, 3e6)


def test_arm_trigger_outputs_shutdown_close():
    protocol = [
        (":ARM:SOUR1 MAN", None),
        (":TRIG1:COUN 1", None),  # pymeasure's hardware-tested form (hil.instruments.KEYSIGHT_81160A)
        NO_ERROR,
        ("*TRG", None),
        (":OUTP1 1", None),
        (":OUTP1 0", None),
        (":OUTP1 0", None),
    ]
    with expected_protocol(Keysight81160APulse, protocol) as gen:
        gen.arm()
        gen.trigger()
        gen.output_on()
        gen.output_off()
        gen.shutdown()
        gen.close()


def test_channel_two_addresses_output_two():
    with expected_protocol(Keysight81160APulse, [(":ARM:SOUR2 MAN", None), (":TRIG2:COUN 1", None), NO_ERROR,
                                                 (":OUTP2 1", None)], channel=2) as gen:
        gen.arm()
        gen.output_on()


@pytest.mark.parametrize(
    "amplitude, width, delay, match",
    [
        (1.0, 1e-9, 10e-9, "too narrow"),  # 2.5 samples per sigma at 2.5 GSa/s
        (6.0, 10e-9, 100e-9, "±5 V"),
        (-5.5, 10e-9, 100e-9, "±5 V"),
        (1.0, 10e-9, -1e-9, "delay"),
        (1.0, 0.0, 1e-9, "width"),
        (float("nan"), 10e-9, 100e-9, "finite"),
        (1.0, 10e-9, 1000.0, "channel delay"),
    ],
)
def test_an_impossible_gaussian_raises_and_sends_nothing(amplitude, width, delay, match):
    with expected_protocol(Keysight81160APulse, []) as gen:
        with pytest.raises(ValueError, match=match):
            gen.set_gaussian_pulse(amplitude, width, delay)


@pytest.mark.parametrize(
    "samples, rate, match",
    [
        (np.zeros(16385), 1e9, "2 to 16384 points"),
        (np.zeros(1), 1e9, "2 to 16384 points"),
        (np.array([0.0, 3.0, -3.0]), 1e9, "Vpp"),  # 6 Vpp > 5
        (np.array([0.0, np.nan]), 1e9, "NaN"),
        (np.zeros(4), 3e9, "sample rate"),
        (np.zeros((2, 2)), 1e9, "1-D"),
    ],
)
def test_an_impossible_arbitrary_pulse_raises_and_sends_nothing(samples, rate, match):
    with expected_protocol(Keysight81160APulse, []) as gen:
        with pytest.raises(ValueError, match=match):
            gen.set_arbitrary_pulse(samples, rate)


def test_there_is_no_channel_three():
    with pytest.raises(ValueError, match="outputs 1 and 2"):
        Keysight81160APulse(None, channel=3)


def test_high_z_load_is_set_read_back_and_doubles_the_limits():
    samples = np.array([0.0, 4.0, 8.0, 4.0, 0.0])  # 8 V: beyond 5 V at 50 Ω, legal at High-Z (10 V)
    protocol = [(":OUTP1:LOAD INF", None), (":OUTP1:LOAD?", "9.9E+37"), NO_ERROR, (":FORM:BORD NORM", None),
                (dac_block([-8191, 0, 8191, 0, -8191]), None)] + levels("200000000", "8", "4", "0")
    with expected_protocol(Keysight81160APulse, protocol, load="high-z") as gen:
        gen.set_arbitrary_pulse(samples, 1e9)
    with expected_protocol(Keysight81160APulse, []) as gen:
        with pytest.raises(ValueError, match="load setting"):
            gen.set_arbitrary_pulse(samples, 1e9)  # at 50 Ω: refused before anything is sent


def test_a_load_that_does_not_read_back_raises_before_any_upload():
    from hil.errors import InstrumentError

    protocol = [(":OUTP1:LOAD 50", None), (":OUTP1:LOAD?", "9.9E+37")]
    with expected_protocol(Keysight81160APulse, protocol) as gen:
        with pytest.raises(InstrumentError, match="load setting reads"):
            gen.set_arbitrary_pulse(np.array([0.0, 1.0, 0.5, 0.0]), 1e9)


def test_a_refused_upload_raises_naming_the_step_and_the_commands():
    from hil.errors import InstrumentError

    protocol = upload([-8191, 0, 8191, 0, -8191]) + levels("200000000", "1", "0.5", "0")[:-1] + [
        (":SYST:ERR?", '-222,"Data out of range"'), NO_ERROR]
    with expected_protocol(Keysight81160APulse, protocol) as gen:
        with pytest.raises(InstrumentError, match=r"81160A refused waveform upload: -222.*:DATA1:DAC <block>"):
            gen.set_arbitrary_pulse(np.array([0.0, 0.5, 1.0, 0.5, 0.0]), 1e9)
