"""Keysight 81160A pulse driver: the exact bytes of every role method and bench setting, and
refusals that send nothing."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pymeasure.test import expected_protocol

from hil.drivers.keysight_81160a import Keysight81160APulse
from hil.errors import InstrumentError
from hil.roles import PulseGenerator


NO_ERROR = (":SYST:ERR?", '0,"No error"')


def configure(ch: int = 1, load: str = "50", load_reply: str = "+5.000000000000000E+01", polarity: str = "NORM",
              slope: str = "POS", level: tuple[str, str] | None = None, options: str = "0") -> list:
    """The bench settings, once, before the first upload/arm/output on: *OPT?, then each setting
    followed by the error queue and read back."""
    protocol = [
        ("*OPT?", options),
        (f":OUTP{ch}:LOAD {load}", None), NO_ERROR, (f":OUTP{ch}:LOAD?", load_reply),
        (f":OUTP{ch}:POL {polarity}", None), NO_ERROR, (f":OUTP{ch}:POL?", polarity),
        (f":ARM:SLOP {slope}", None), NO_ERROR, (":ARM:SLOP?", slope),
    ]
    if level is not None:
        protocol += [(f":ARM:LEV {level[0]}", None), NO_ERROR, (":ARM:LEV?", level[1])]
    return protocol


def dac_block(points) -> bytes:
    """``:DATA1:DAC VOLATILE,`` + an IEEE block of big-endian int16 + LF, as the instrument expects."""
    payload = np.asarray(points, dtype=">i2").tobytes()
    length = str(len(payload)).encode()
    return b":DATA1:DAC VOLATILE,#" + str(len(length)).encode() + length + payload + b"\n"


def upload(points) -> list:
    """Byte order, then the block: what precedes the levels."""
    return [(":FORM:BORD NORM", None), (dac_block(points), None)]


def levels(frequency: str, amplitude: str, offset: str) -> list:
    return [
        (":FUNC1:USER VOLATILE", None),
        (":FUNC1 USER", None),
        (f":FREQ1 {frequency}", None),
        (":VOLT1:OFFS 0", None),
        (f":VOLT1 {amplitude}", None),
        (f":VOLT1:OFFS {offset}", None),
        (":PULS:DEL1 0", None),  # never relied on: the delay is in the waveform
        NO_ERROR,
    ]


def whole_delay_gaussian(amplitude: float, sigma: float, delay: float, points: int = 16384):
    """The expected waveform: the centre exactly on a point at ``delay``, ≥ 5σ of tail, all in ``points``."""
    centre = math.floor(delay * (points - 1) / (delay + 5 * sigma) + 1e-9)
    rate = centre / delay if centre else (points - 1) / (5 * sigma)
    t = np.arange(points) / rate
    return t, amplitude * np.exp(-0.5 * ((t - delay) / sigma) ** 2), centre, rate


def test_satisfies_the_pulse_generator_role():
    with expected_protocol(Keysight81160APulse, []) as gen:
        assert isinstance(gen, PulseGenerator)


def test_gaussian_puts_the_whole_delay_in_16384_points_with_the_centre_on_a_point():
    amplitude, sigma, delay = 2.0, 2e-9, 50e-9
    t, volts, centre, rate = whole_delay_gaussian(amplitude, sigma, delay)
    assert centre == 13652 and t[centre] == pytest.approx(delay, rel=1e-12)  # the peak leaves at the delay
    assert t[-1] - delay >= 5 * sigma * (1 - 1e-9)  # and the tail is complete
    dac = np.rint((volts - 1.0) / 1.0 * 8191)  # 0 V .. 2 V → amplitude 2 Vpp, offset 1 V
    assert dac[centre] == 8191 and dac[0] == -8191
    protocol = configure() + upload(dac) + levels(f"{rate / 16384:.12g}", "2", "1")
    with expected_protocol(Keysight81160APulse, protocol) as gen:
        gen.set_gaussian_pulse(amplitude, sigma, delay)


def test_negative_gaussian_keeps_its_sign_and_a_zero_baseline():
    sigma, delay = 2e-9, 10e-9
    t, volts, centre, rate = whole_delay_gaussian(-1.5, sigma, delay)
    dac = np.rint((volts + 0.75) / 0.75 * 8191)
    assert dac[centre] == -8191 and dac[0] == 8191 and dac[-1] == 8191
    with expected_protocol(Keysight81160APulse, configure() + upload(dac) + levels(f"{rate / 16384:.12g}", "1.5",
                                                                                   "-0.75")) as gen:
        gen.set_gaussian_pulse(-1.5, sigma, delay)


def test_gaussian_with_a_delay_shorter_than_five_sigma_starts_at_the_trigger_with_its_lead_cut():
    sigma, delay = 2e-9, 3e-9
    t, volts, centre, rate = whole_delay_gaussian(1.0, sigma, delay)
    assert t[centre] == pytest.approx(delay, rel=1e-12) and volts[0] > 0.3  # starts inside the pulse
    dac = np.rint((volts - 0.5) / 0.5 * 8191)
    with expected_protocol(Keysight81160APulse, configure() + upload(dac) + levels(f"{rate / 16384:.12g}", "1",
                                                                                   "0.5")) as gen:
        gen.set_gaussian_pulse(1.0, sigma, delay)


def test_gaussian_at_zero_delay_is_its_tail_from_the_peak():
    sigma = 4e-9
    rate = 16383 / (5 * sigma)
    volts = np.exp(-0.5 * (np.arange(16384) / rate / sigma) ** 2)
    dac = np.rint((volts - 0.5) / 0.5 * 8191)
    assert dac[0] == 8191
    with expected_protocol(Keysight81160APulse, configure() + upload(dac) + levels(f"{rate / 16384:.12g}", "1",
                                                                                   "0.5")) as gen:
        gen.set_gaussian_pulse(1.0, sigma, 0.0)


def test_a_delay_too_long_for_16384_points_is_refused_or_takes_the_524288_point_memory():
    sigma, delay = 1e-6, 10e-3  # 10000 σ: 16384 points leave 1.6 per σ
    with expected_protocol(Keysight81160APulse, []) as gen:
        with pytest.raises(ValueError, match=r"1.6 per σ.*longest delay for σ = 1e-06 s is 0.004.*max_points = 524288"):
            gen.set_gaussian_pulse(1.0, sigma, delay)
    t, volts, centre, rate = whole_delay_gaussian(1.0, sigma, delay, points=524288)
    assert rate * sigma > 50 and t[centre] == pytest.approx(delay, rel=1e-12)
    dac = np.rint((volts - 0.5) / 0.5 * 8191)
    protocol = configure() + upload(dac) + levels(f"{rate / 524288:.12g}", "1", "0.5")
    with expected_protocol(Keysight81160APulse, protocol, max_points=524288) as gen:
        gen.set_gaussian_pulse(1.0, sigma, delay)


def test_arbitrary_pulse_is_uploaded_as_given_and_replayed_at_rate_over_points():
    samples = np.array([0.0, 0.5, 1.0, 0.5, 0.0])
    protocol = configure() + upload([-8191, 0, 8191, 0, -8191]) + levels("200000000", "1", "0.5")
    with expected_protocol(Keysight81160APulse, protocol) as gen:
        gen.set_arbitrary_pulse(samples, 1e9)


def test_settings_go_once_not_with_every_upload():
    first = configure() + upload([-8191, 0, 8191, 0, -8191]) + levels("200000000", "1", "0.5")
    second = upload([-8191, 8191, -8191]) + levels("100000000", "2", "1")
    arm = [(":ARM:SOUR1 MAN", None), (":TRIG1:COUN 1", None), NO_ERROR]
    with expected_protocol(Keysight81160APulse, first + second + arm) as gen:
        gen.set_arbitrary_pulse(np.array([0.0, 0.5, 1.0, 0.5, 0.0]), 1e9)
        gen.set_arbitrary_pulse(np.array([0.0, 2.0, 0.0]), 3e8)
        gen.arm()


def test_small_pulse_plays_at_the_minimum_amplitude_with_smaller_dac_values():
    samples = np.array([0.0, 0.01, 0.0])  # 10 mV: below the 50 mVpp minimum, still exact volts
    dac = np.rint((samples - 0.005) / 0.025 * 8191)
    protocol = configure() + upload(dac) + levels("1000000", "0.05", "0.005")
    with expected_protocol(Keysight81160APulse, protocol) as gen:
        gen.set_arbitrary_pulse(samples, 3e6)


def test_arm_trigger_outputs_shutdown_close():
    protocol = configure() + [
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


def test_output_on_before_anything_else_sends_the_settings_first():
    with expected_protocol(Keysight81160APulse, configure() + [(":OUTP1 1", None)]) as gen:
        gen.output_on()


def test_channel_two_addresses_output_two():
    protocol = configure(ch=2, options="002") + [(":ARM:SOUR2 MAN", None), (":TRIG2:COUN 1", None), NO_ERROR,
                                                 (":OUTP2 1", None)]
    with expected_protocol(Keysight81160APulse, protocol, channel=2) as gen:
        gen.arm()
        gen.output_on()
        assert gen.installed_options == {"002"}


@pytest.mark.parametrize("reply", ["001", '"001","330"', "Opt. 001"])
def test_output_two_on_a_one_output_81160a_is_refused_after_opt(reply):
    with expected_protocol(Keysight81160APulse, [("*OPT?", reply)], channel=2) as gen:
        with pytest.raises(InstrumentError, match="option 001, the one-output model"):
            gen.arm()


def test_inverted_polarity_is_set_read_back_and_plays_the_pulse_at_offset_zero():
    samples = np.array([0.0, 0.5, 1.0, 0.5, 0.0])
    dac = np.rint(samples / 1.0 * 8191)  # ±1 V span around 0 V: the instrument's −V(t) needs no offset
    protocol = configure(polarity="INV") + upload(dac) + levels("200000000", "2", "0")
    with expected_protocol(Keysight81160APulse, protocol, polarity="inverted") as gen:
        gen.set_arbitrary_pulse(samples, 1e9)


def test_inverted_polarity_halves_the_reach_and_says_why():
    samples = np.array([0.0, 3.0, 0.0])  # 0..3 V fits at offset 1.5 V; at offset 0 it needs 6 Vpp
    with expected_protocol(Keysight81160APulse, configure() + upload([-8191, 8191, -8191])
                           + levels("100000000", "3", "1.5")) as gen:
        gen.set_arbitrary_pulse(samples, 3e8)
    with expected_protocol(Keysight81160APulse, [], polarity="inverted") as gen:
        with pytest.raises(ValueError, match=r"polarity inverted: played at offset 0.*5 Vpp"):
            gen.set_arbitrary_pulse(samples, 3e8)


def test_trigger_slope_and_level_are_set_and_read_back():
    protocol = configure(slope="NEG", level=("1.5", "+1.500000000000000E+00")) + [
        (":ARM:SOUR1 MAN", None), (":TRIG1:COUN 1", None), NO_ERROR]
    with expected_protocol(Keysight81160APulse, protocol, trigger_slope="negative", trigger_level=1.5) as gen:
        gen.arm()


def test_either_slope_is_an_81160a_word():
    with expected_protocol(Keysight81160APulse, configure(slope="EITH") + [(":OUTP1 1", None)],
                           trigger_slope="either") as gen:
        gen.output_on()


def test_a_trigger_level_the_instrument_refuses_raises_naming_the_step():
    protocol = configure() + [(":ARM:LEV 50", None), (":SYST:ERR?", '-222,"Data out of range"'),
                                           NO_ERROR]
    with expected_protocol(Keysight81160APulse, protocol, trigger_level=50) as gen:
        with pytest.raises(InstrumentError, match=r"81160A refused trigger level 50 V: -222.*:ARM:LEV"):
            gen.arm()


def test_a_setting_that_does_not_read_back_raises():
    protocol = [("*OPT?", "0"), (":OUTP1:LOAD 50", None), NO_ERROR, (":OUTP1:LOAD?", "50"),
                (":OUTP1:POL INV", None), NO_ERROR, (":OUTP1:POL?", "NORM")]
    with expected_protocol(Keysight81160APulse, protocol, polarity="inverted") as gen:
        with pytest.raises(InstrumentError, match=r"polarity reads 'NORM' after setting INV"):
            gen.output_on()


@pytest.mark.parametrize("option, value, match", [
    ("polarity", "upside-down", r"polarity 'upside-down': the 81160A takes 'normal' or 'inverted'"),
    ("trigger_slope", "rising", r"trigger_slope 'rising': the 81160A takes 'positive' or 'negative' or 'either'"),
    ("trigger_level", float("nan"), "trigger_level"),
    ("trigger_level", "1V", "trigger_level '1V': give volts"),
    ("sync_out", True, r"sync_out: not driven on the 81160A .*Sync Out A or B"),
    ("load", 0.1, "load setting"),
    ("channel", 3, "outputs 1 and 2"),
])
def test_an_out_of_spec_bench_setting_is_refused_before_anything_is_sent(option, value, match):
    with pytest.raises(ValueError, match=match):
        with expected_protocol(Keysight81160APulse, [], **{option: value}):
            pass


@pytest.mark.parametrize(
    "amplitude, width, delay, match",
    [
        (1.0, 1e-9, 10e-9, "too narrow"),  # 2.5 samples per sigma at 2.5 GSa/s
        (6.0, 10e-9, 100e-9, "±5 V"),
        (-5.5, 10e-9, 100e-9, "±5 V"),
        (1.0, 10e-9, -1e-9, "delay"),
        (1.0, 0.0, 1e-9, "width"),
        (float("nan"), 10e-9, 100e-9, "finite"),
        (1.0, 10e-9, 1000.0, "longest delay"),
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


def test_high_z_load_is_set_read_back_and_doubles_the_limits():
    samples = np.array([0.0, 4.0, 8.0, 4.0, 0.0])  # 8 V: beyond 5 V at 50 Ω, legal at High-Z (10 V)
    protocol = (configure(load="INF", load_reply="9.9E+37") + upload([-8191, 0, 8191, 0, -8191])
                + levels("200000000", "8", "4"))
    with expected_protocol(Keysight81160APulse, protocol, load="high-z") as gen:
        gen.set_arbitrary_pulse(samples, 1e9)
    with expected_protocol(Keysight81160APulse, []) as gen:
        with pytest.raises(ValueError, match="load setting"):
            gen.set_arbitrary_pulse(samples, 1e9)  # at 50 Ω: refused before anything is sent


def test_a_load_that_does_not_read_back_raises_before_any_upload():
    protocol = [("*OPT?", "0"), (":OUTP1:LOAD 50", None), NO_ERROR, (":OUTP1:LOAD?", "9.9E+37")]
    with expected_protocol(Keysight81160APulse, protocol) as gen:
        with pytest.raises(InstrumentError, match="load setting reads"):
            gen.set_arbitrary_pulse(np.array([0.0, 1.0, 0.5, 0.0]), 1e9)


def test_a_refused_upload_raises_naming_the_step_and_the_commands():
    protocol = configure() + upload([-8191, 0, 8191, 0, -8191]) + levels("200000000", "1", "0.5")[:-1] + [
        (":SYST:ERR?", '-222,"Data out of range"'), NO_ERROR]
    with expected_protocol(Keysight81160APulse, protocol) as gen:
        with pytest.raises(InstrumentError, match=r"81160A refused waveform upload: -222.*:DATA1:DAC <block>"):
            gen.set_arbitrary_pulse(np.array([0.0, 0.5, 1.0, 0.5, 0.0]), 1e9)
