"""The InfiniiVision and QDAC-II dialects on their own: settings, refusals into the error queue, the
scope's choice of sample rate, transfer formats, the DAC grid and the wiring sheet."""

from __future__ import annotations

import numpy as np
import pytest

from hil.sim.chip import ChipDigitizer, ChipInputAWG, ChipWeights, OscillatorChip
from hil.sim.scpi.dialects import get_dialect


def run(dialect, *messages: str) -> list[bytes | None]:
    return [dialect.execute(m.encode()) for m in messages]


@pytest.fixture
def scope():
    chip = OscillatorChip(hidden=(3,), gamma_spread=0.0, readout_noise=0.0, seed=0)
    chip.set_rail_current(2e-3)
    awg = ChipInputAWG(chip)
    awg.output_on()
    return get_dialect("keysight_infiniivision")(ChipDigitizer(chip, bits=12)), awg


def test_sample_rate_is_the_scopes_choice(scope):
    d, _ = scope
    run(d, ":TIM:RANG 1e-6", ":CHAN2:DISP 1")
    assert run(d, ":ACQ:SRAT?") == [b"5000000000\n"]  # two channels on: 5 GSa/s
    run(d, ":CHAN3:DISP 1")
    assert run(d, ":ACQ:SRAT?") == [b"2500000000\n"]  # three: interleaving lost
    run(d, ":TIM:RANG 0.01")
    assert run(d, ":ACQ:SRAT?") == [b"125000000\n"]  # 2 Mpts over 10 ms: 2.5 GSa/s ÷ 20 (÷ 1, 2, 4, 5, 10, 20 …)
    assert run(d, ":SYST:ERR?") == [b'0,"No error"\n']


def test_single_needs_the_external_trigger_and_one_range(scope):
    d, _ = scope
    run(d, ":TIM:RANG 1e-7", ":SING")
    assert b"-221" in run(d, ":SYST:ERR?")[0]  # trigger source still CHAN1 after *RST
    run(d, ":TRIG:EDGE:SOUR EXT", ":CHAN2:DISP 1", ":CHAN2:RANG 2", ":SING")
    assert b"one range" in run(d, ":SYST:ERR?")[0]


def test_acquisition_and_the_three_transfer_formats(scope):
    d, awg = scope
    run(d, ":TRIG:EDGE:SOUR EXT", ":TIM:REF LEFT", ":TIM:RANG 2e-8", ":TIM:POS 2e-9", ":CHAN1:RANG 1.5",
        ":CHAN1:OFFS 0.5", ":SING")
    assert run(d, ":AER?", ":AER?") == [b"1\n", b"0\n"]
    assert run(d, ":OPER:COND?") == [b"8\n"]  # armed, waiting for its trigger
    awg.set_arbitrary_pulse(np.ones(10), 1e9)
    awg.arm()
    awg.trigger()
    assert run(d, ":OPER:COND?") == [b"0\n"]
    pre = run(d, ":WAV:FORM WORD;:WAV:PRE?")[0].decode().strip().split(",")
    assert pre[0] == "1" and int(pre[2]) == 100 and float(pre[4]) == pytest.approx(2e-10)
    word = run(d, ":WAV:BYT LSBF;:WAV:UNS 0;:WAV:DATA?")[0]
    assert word.startswith(b"#3200")
    byte = run(d, ":WAV:FORM BYTE;:WAV:DATA?")[0]
    assert byte.startswith(b"#3100")
    text = run(d, ":WAV:FORM ASC;:WAV:DATA?")[0]
    digits = int(text[1:2])
    values = np.array([float(v) for v in text[2 + digits:-1].split(b",")])
    codes = np.frombuffer(word[5:-1], dtype="<i2")
    np.testing.assert_allclose(values, 0.5 + codes * 1.5 / 65536, atol=1e-6)
    assert run(d, ":SYST:ERR?") == [b'0,"No error"\n']


@pytest.fixture
def dac():
    chip = OscillatorChip(hidden=(2,), gamma_spread=0.0, readout_noise=0.0, seed=0)
    twin = ChipWeights(chip, weight_range=20.0, bias_range=1e10, bits=32,
                       volts_per_unit={"w_ext": 0.5, "w_int": 0.5, "bias": 1e-9})
    return get_dialect("qdevil_qdac2")(twin), chip


def test_volts_land_on_the_25_bit_grid_and_reach_the_chip(dac):
    d, chip = dac
    run(d, "sour1:volt 1.2345678", "sour7:volt -3")  # w_ext[0][0, 0], bias[0][0]
    lsb = 20 / 2**25
    (answer,) = run(d, "sour1:volt?")
    assert float(answer) == np.round(1.2345678 / lsb) * lsb
    assert chip.w_ext[0][0, 0] == pytest.approx(float(answer) / 0.5, rel=1e-9)
    assert chip.bias[0][0] == pytest.approx(-3 / 1e-9 * 1e-9, rel=1e-6)  # −3e9 /s → −3 /ns
    assert run(d, "syst:err?") == [b'0,"No error"\n']


def test_out_of_range_and_range_conflicts_are_refused_unchanged(dac):
    d, _ = dac
    run(d, "sour2:volt 10.5")
    assert b"-222" in run(d, "syst:err?")[0]
    run(d, "sour2:volt 5", "sour2:rang low")
    assert b"-221" in run(d, "syst:err?")[0]
    assert run(d, "sour2:rang?", "sour2:volt?") == [b"HIGH\n", b"5\n"]
    run(d, "sour3:volt:mode swe", "sour3:volt 1")
    assert b"fixed mode" in run(d, "syst:err?")[0]
    run(d, "sour25:volt 1")
    assert b"-114" in run(d, "syst:err?")[0]


def test_a_chip_with_more_parameters_than_channels_is_reported_not_fatal():
    chip = OscillatorChip(hidden=(5,), seed=0)  # 5 + 25 + 5 = 35 parameters > 24 channels
    d = get_dialect("qdevil_qdac2")(ChipWeights(chip))
    assert b"24" in run(d, "syst:err?")[0]
