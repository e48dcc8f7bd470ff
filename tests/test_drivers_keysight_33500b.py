"""Keysight 33500B pulse driver: the exact bytes of every role method and bench setting, and
refusals that send nothing."""

from __future__ import annotations

import numpy as np
import pytest
from pymeasure.test import expected_protocol

from hil.drivers.keysight_33500b import Keysight33500BPulse
from hil.errors import InstrumentError
from hil.roles import PulseGenerator


def arb_block(points: np.ndarray) -> bytes:
    """``DATA:ARB`` with an IEEE block of little-endian float32 (after FORM:BORD SWAP) + LF."""
    payload = np.asarray(points, dtype="<f4").tobytes()
    length = str(len(payload)).encode()
    return b"SOUR1:DATA:ARB HILPULSE,#" + str(len(length)).encode() + length + payload + b"\n"


NO_ERROR = ("SYST:ERR?", '0,"No error"')


def configure(ch: int = 1, load: str = "50", load_reply: str = "+5.000000000000000E+01", polarity: str = "NORM",
              slope: str = "POS") -> list:
    """The bench settings, once, before the first upload/arm/output on: each followed by the
    error queue and read back."""
    return [
        (f"OUTP{ch}:LOAD {load}", None), NO_ERROR, (f"OUTP{ch}:LOAD?", load_reply),
        (f"OUTP{ch}:POL {polarity}", None), NO_ERROR, (f"OUTP{ch}:POL?", polarity),
        (f"TRIG{ch}:SLOP {slope}", None), NO_ERROR, (f"TRIG{ch}:SLOP?", slope),
    ]


def upload(points: np.ndarray, rate: str, amplitude: str, offset: str, delay: str, first: bool = True) -> list:
    return (configure() if first else []) + [
        ("FORM:BORD SWAP", None),
        ("SOUR1:DATA:VOL:CLE", None),
        (arb_block(points), None),
        ("SOUR1:FUNC:ARB HILPULSE", None),
        ("SOUR1:FUNC ARB", None),
        ("SOUR1:FUNC:ARB:FILT OFF", None),
        (f"SOUR1:FUNC:ARB:SRAT {rate}", None),
        ("SOUR1:VOLT:OFFS 0", None),
        (f"SOUR1:VOLT {amplitude}", None),
        (f"SOUR1:VOLT:OFFS {offset}", None),
        (f"TRIG1:DEL {delay}", None),
        NO_ERROR,
    ]


def test_satisfies_the_pulse_generator_role():
    with expected_protocol(Keysight33500BPulse, []) as gen:
        assert isinstance(gen, PulseGenerator)


def test_gaussian_is_twenty_samples_per_sigma_over_ten_sigma_with_the_rest_of_the_delay_as_trigger_delay():
    sigma, delay = 1e-6, 20e-6
    rate = 20 / sigma  # 20 MSa/s, within 250 MSa/s
    t = (np.arange(201) - 100) / rate  # centre on sample 100
    volts = np.exp(-0.5 * (t / sigma) ** 2)
    normalised = (volts - 0.5) / 0.5
    assert normalised[100] == 1.0 and abs(normalised[0] + 1) < 1e-5
    with expected_protocol(Keysight33500BPulse, upload(normalised, "20000000", "1", "0.5", "1.5e-05")) as gen:
        gen.set_gaussian_pulse(1.0, sigma, delay)


def test_narrow_gaussian_runs_at_the_maximum_rate():
    sigma, delay = 40e-9, 1e-6  # 20/σ = 500 MSa/s > 250: 10 samples per sigma
    rate = 250e6
    half = 50
    t = (np.arange(2 * half + 1) - half) / rate
    normalised = (-2 * np.exp(-0.5 * (t / sigma) ** 2) + 1.0) / 1.0
    with expected_protocol(Keysight33500BPulse, upload(normalised, "250000000", "2", "-1", "8e-07")) as gen:
        gen.set_gaussian_pulse(-2.0, sigma, delay)


def test_arbitrary_pulse_is_uploaded_as_given():
    samples = np.array([0.0, 0.0, 1.0, 2.0, 1.0, 0.0, 0.0, 0.0])
    with expected_protocol(Keysight33500BPulse, upload(samples - 1.0, "1000000", "2", "1", "0")) as gen:
        gen.set_arbitrary_pulse(samples, 1e6)


def test_arm_trigger_outputs_shutdown_close():
    protocol = configure() + [
        ("SOUR1:BURS:MODE TRIG", None),
        ("SOUR1:BURS:NCYC 1", None),
        ("TRIG1:SOUR BUS", None),
        ("SOUR1:BURS:STAT 1", None),
        NO_ERROR,
        ("*TRG", None),
        ("OUTP1 1", None),
        ("OUTP1 0", None),
        ("OUTP1 0", None),
    ]
    with expected_protocol(Keysight33500BPulse, protocol) as gen:
        gen.arm()
        gen.trigger()
        gen.output_on()
        gen.output_off()
        gen.shutdown()
        gen.close()


def test_a_20_mhz_model_refuses_rates_above_160_msa_s():
    with expected_protocol(Keysight33500BPulse, [], max_sample_rate=160e6) as gen:
        with pytest.raises(ValueError, match="sample rate"):
            gen.set_arbitrary_pulse(np.zeros(8), 200e6)
        with pytest.raises(ValueError, match="too narrow"):
            gen.set_gaussian_pulse(1.0, 20e-9, 1e-6)  # 3.2 samples per sigma at 160 MSa/s


@pytest.mark.parametrize(
    "amplitude, width, delay, match",
    [
        (1.0, 10e-9, 1e-6, "too narrow"),  # 2.5 samples per sigma at 250 MSa/s
        (5.5, 1e-6, 10e-6, "±5 V"),
        (1.0, 1e-6, 1001.0, "trigger delay"),
        (1.0, -1e-6, 1e-6, "width"),
        (1.0, 1e-6, float("inf"), "finite"),
    ],
)
def test_an_impossible_gaussian_raises_and_sends_nothing(amplitude, width, delay, match):
    with expected_protocol(Keysight33500BPulse, []) as gen:
        with pytest.raises(ValueError, match=match):
            gen.set_gaussian_pulse(amplitude, width, delay)


@pytest.mark.parametrize(
    "samples, rate, match",
    [
        (np.zeros(7), 1e6, "8 to 1000000 points"),
        (np.array([0.0] * 7 + [11.0]), 1e6, "±5 V"),
        (np.array([-6.0] + [0.0] * 7), 1e6, "±5 V"),
        (np.zeros(8), 0.0, "sample rate"),
    ],
)
def test_an_impossible_arbitrary_pulse_raises_and_sends_nothing(samples, rate, match):
    with expected_protocol(Keysight33500BPulse, []) as gen:
        with pytest.raises(ValueError, match=match):
            gen.set_arbitrary_pulse(samples, rate)


def test_a_bench_claiming_the_memory_option_is_checked_against_opt():
    samples = np.zeros(8)
    with expected_protocol(Keysight33500BPulse, [("*OPT?", "IQP")], max_points=16_000_000) as gen:
        with pytest.raises(InstrumentError, match="option MEM"):
            gen.set_arbitrary_pulse(np.concatenate([samples, [1.0]]), 1e6)

    with expected_protocol(Keysight33500BPulse, [("*OPT?", '"MEM","IQP"')] + configure() + [("OUTP1 1", None)],
                           max_points=16_000_000) as gen:
        gen.output_on()  # MEM installed: the settings follow


def test_settings_go_once_not_with_every_upload():
    samples = np.array([0.0, 0.0, 1.0, 2.0, 1.0, 0.0, 0.0, 0.0])
    protocol = (upload(samples - 1.0, "1000000", "2", "1", "0")
                + upload(samples - 1.0, "2000000", "1", "0.5", "0", first=False))  # same shape, half the volts
    with expected_protocol(Keysight33500BPulse, protocol) as gen:
        gen.set_arbitrary_pulse(samples, 1e6)
        gen.set_arbitrary_pulse(samples / 2, 2e6)


def test_inverted_polarity_is_set_read_back_and_plays_the_pulse_at_offset_zero():
    samples = np.array([0.0, 0.0, 1.0, 2.0, 1.0, 0.0, 0.0, 0.0])
    body = upload(samples / 2.0, "1000000", "4", "0", "0")[len(configure()):]  # ±2 V around 0 V: 4 Vpp, offset 0
    protocol = configure(polarity="INV") + body
    with expected_protocol(Keysight33500BPulse, protocol, polarity="inverted") as gen:
        gen.set_arbitrary_pulse(samples, 1e6)


def test_inverted_polarity_keeps_the_33500b_reach_and_names_it_when_refusing():
    samples = np.array([0.0] * 7 + [5.0])  # 0..5 V inverted: ±5 V at offset 0, 10 Vpp, still within reach
    body = upload(samples / 5.0, "1000000", "10", "0", "0", first=False)
    with expected_protocol(Keysight33500BPulse, configure(polarity="INV") + body, polarity="inverted") as gen:
        gen.set_arbitrary_pulse(samples, 1e6)
    with expected_protocol(Keysight33500BPulse, [], polarity="inverted") as gen:
        with pytest.raises(ValueError, match=r"-5.5 V to 5.5 V \(polarity inverted: played at offset 0"):
            gen.set_arbitrary_pulse(np.array([0.0] * 7 + [5.5]), 1e6)


def test_negative_trigger_slope_is_set_and_read_back():
    protocol = configure(slope="NEG") + [("OUTP1 1", None)]
    with expected_protocol(Keysight33500BPulse, protocol, trigger_slope="negative") as gen:
        gen.output_on()


SYNC_ON_CH1 = [("OUTP:SYNC:SOUR CH1", None), NO_ERROR, ("OUTP:SYNC:SOUR?", "CH1"),
               ("OUTP:SYNC ON", None), NO_ERROR, ("OUTP:SYNC?", "1")]


@pytest.mark.parametrize("idn, routed", [
    ("Agilent Technologies,33522B,MY57800256,5.00-1.19-2.00-58-00", True),  # two outputs: route the sync to ours
    ("Agilent Technologies,33510B,MY1,1.0", True),
    ("Agilent Technologies,33511B,MY1,1.0", False),  # one output: nothing to route
])
def test_sync_out_on_is_routed_to_this_output_where_the_model_has_two(idn, routed):
    sync = SYNC_ON_CH1 if routed else SYNC_ON_CH1[3:]
    protocol = configure() + [("*IDN?", idn)] + sync + [("OUTP1 1", None)]
    with expected_protocol(Keysight33500BPulse, protocol, sync_out=True) as gen:
        gen.output_on()


def test_sync_out_on_output_two_is_routed_to_ch2_and_off_is_just_off():
    protocol = configure(ch=2) + [("*IDN?", "Keysight Technologies,33520B,MY1,1.0"),
                                  ("OUTP:SYNC:SOUR CH2", None), NO_ERROR, ("OUTP:SYNC:SOUR?", "CH2"),
                                  ("OUTP:SYNC ON", None), NO_ERROR, ("OUTP:SYNC?", "1"), ("OUTP2 1", None)]
    with expected_protocol(Keysight33500BPulse, protocol, channel=2, sync_out=True) as gen:
        gen.output_on()
    protocol = configure() + [("OUTP:SYNC OFF", None), NO_ERROR, ("OUTP:SYNC?", "0"), ("OUTP1 1", None)]
    with expected_protocol(Keysight33500BPulse, protocol, sync_out=False) as gen:
        gen.output_on()


def test_a_sync_that_does_not_read_back_raises():
    protocol = configure() + [("OUTP:SYNC OFF", None), NO_ERROR, ("OUTP:SYNC?", "1")]
    with expected_protocol(Keysight33500BPulse, protocol, sync_out=False) as gen:
        with pytest.raises(InstrumentError, match=r"sync out reads '1' after setting OFF"):
            gen.output_on()


def test_a_polarity_the_instrument_refuses_raises_naming_the_step():
    protocol = [("OUTP1:LOAD 50", None), NO_ERROR, ("OUTP1:LOAD?", "50"), ("OUTP1:POL INV", None),
                ("SYST:ERR?", '-113,"Undefined header"'), NO_ERROR]
    with expected_protocol(Keysight33500BPulse, protocol, polarity="inverted") as gen:
        with pytest.raises(InstrumentError, match=r"33500B refused polarity INV: -113.*OUTP1:POL"):
            gen.arm()


@pytest.mark.parametrize("option, value, match", [
    ("polarity", "INV", r"polarity 'INV': the 33500B takes 'normal' or 'inverted'"),
    ("trigger_slope", "either", r"trigger_slope 'either': the 33500B takes 'positive' or 'negative'"),
    ("trigger_level", 1.0, r"trigger_level: not settable on the 33500B .*no remote trigger-level command"),
    ("sync_out", "yes", r"sync_out 'yes': give true or false"),
    ("load", 20e3, "load setting"),
    ("arb_filter", "SMOOTH", "arb_filter"),
])
def test_an_out_of_spec_bench_setting_is_refused_before_anything_is_sent(option, value, match):
    with pytest.raises(ValueError, match=match):
        with expected_protocol(Keysight33500BPulse, [], **{option: value}):
            pass
