"""Keysight 33500B pulse driver: the exact bytes of every role method, and refusals that send nothing."""

from __future__ import annotations

import numpy as np
import pytest
from pymeasure.test import expected_protocol

from hil.drivers.keysight_33500b import Keysight33500BPulse
from hil.roles import PulseGenerator


def arb_block(points: np.ndarray) -> bytes:
    """``DATA:ARB`` with an IEEE block of little-endian float32 (after FORM:BORD SWAP) + LF."""
    payload = np.asarray(points, dtype="<f4").tobytes()
    length = str(len(payload)).encode()
    return b"SOUR1:DATA:ARB HILPULSE,#" + str(len(length)).encode() + length + payload + b"\n"


NO_ERROR = ("SYST:ERR?", '0,"No error"')
#: Before the first upload: the load setting, read back (bench option ``load``, default 50 Ω).
LOAD_50 = [("OUTP1:LOAD 50", None), ("OUTP1:LOAD?", "+5.000000000000000E+01"), NO_ERROR]


def upload(points: np.ndarray, rate: str, amplitude: str, offset: str, delay: str, first: bool = True) -> list:
    return (LOAD_50 if first else []) + [
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
    protocol = [
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
    from hil.errors import InstrumentError

    samples = np.zeros(8)
    with expected_protocol(Keysight33500BPulse, [("*OPT?", "IQP")], max_points=16_000_000) as gen:
        with pytest.raises(InstrumentError, match="option MEM"):
            gen.set_arbitrary_pulse(np.concatenate([samples, [1.0]]), 1e6)
