"""QDevil QDAC-II driver (Weights role): exact bytes, the calibration sheet, the DAC's grid, refusals."""

from __future__ import annotations

import numpy as np
import pytest
from pymeasure.test import expected_protocol

from hil.drivers.qdevil_qdac2 import QDAC2Weights
from hil.roles import Weights

#: one neuron: w_ext (1, 1) on channel 1, w_int (1, 1) on channel 2, bias (1,) on channel 3; an 8-bit DAC so the
#: grid is visible: ±10 V in steps of 20/256 = 0.078125 V
CAL = dict(hidden=(1,), n_in=1, volts_per_unit={"w_ext": 0.5, "w_int": 0.5, "bias": 1e-9}, bits=8, settling_time=0.0)
SETUP = [(f"sour{c}:{cmd}", None) for c in (1, 2, 3) for cmd in ("volt:mode fix", "rang high", "filt high")]


def weights(w_ext=2.0, w_int=-1.0, bias=1e9):
    return {"w_ext": [np.array([[w_ext]])], "w_int": [np.array([[w_int]])], "bias": [np.array([bias])]}


def test_satisfies_the_weights_role_with_the_calibrated_range_and_grid():
    with expected_protocol(QDAC2Weights, [], **CAL) as dac:
        assert isinstance(dac, Weights)
        assert dac.shapes == {"w_ext": ((1, 1),), "w_int": ((1, 1),), "bias": ((1,),)}
        low, high, step = dac.ranges["w_ext"]
        assert (low, high, step) == (-20.0, 9.921875 / 0.5, 0.078125 / 0.5)
        assert dac.ranges["bias"] == pytest.approx((-1e10, 9.921875e9, 0.078125e9))


def test_set_weights_sets_up_each_channel_then_sends_volts_on_the_dac_grid():
    # 2 × 0.5 V = 1 V → code 13 → 1.015625 V; −0.5 V → code −6 → −0.46875 V; 1e9/s × 1e-9 V·s = 1 V → 1.015625 V
    protocol = SETUP + [("sour1:volt 1.015625", None), ("sour2:volt -0.46875", None), ("sour3:volt 1.015625", None)]
    with expected_protocol(QDAC2Weights, protocol, **CAL) as dac:
        dac.set_weights(weights())


def test_a_second_set_sends_only_the_channels_that_change():
    protocol = SETUP + [("sour1:volt 1.015625", None), ("sour2:volt -0.46875", None), ("sour3:volt 1.015625", None),
                        ("sour2:volt 0.078125", None)]
    with expected_protocol(QDAC2Weights, protocol, **CAL) as dac:
        dac.set_weights(weights())
        dac.set_weights(weights(w_int=0.15))  # 0.075 V → code 1


def test_get_weights_reads_every_channel_back_in_calibrated_units():
    protocol = [("sour1:volt?", "1.015625"), ("sour2:volt?", "-0.46875"), ("sour3:volt?", "1.015625")]
    with expected_protocol(QDAC2Weights, protocol, **CAL) as dac:
        got = dac.get_weights()
    assert got["w_ext"][0][0, 0] == 2.03125 and got["w_int"][0][0, 0] == -0.9375
    assert got["bias"][0][0] == pytest.approx(1.015625e9)


def test_settle_waits_for_the_instrument_to_apply_everything():
    with expected_protocol(QDAC2Weights, [("*OPC?", "1")], **CAL) as dac:
        dac.settle()


@pytest.mark.parametrize("bad", [weights(w_ext=25.0), weights(bias=-2e10), weights(w_int=float("nan")),
                                 {"w_ext": [np.zeros((2, 1))], "w_int": [np.zeros((1, 1))], "bias": [np.zeros(1)]}])
def test_out_of_range_or_malformed_weights_are_refused_and_nothing_is_sent(bad):
    with expected_protocol(QDAC2Weights, [], **CAL) as dac:
        with pytest.raises(ValueError, match="refused, nothing sent"):
            dac.set_weights(bad)


def test_shutdown_zeroes_every_channel_that_holds_a_voltage():
    protocol = SETUP + [("sour1:volt 1.015625", None), ("sour2:volt 0", None), ("sour3:volt 1.015625", None),
                        ("sour1:volt 0", None), ("sour3:volt 0", None)]
    with expected_protocol(QDAC2Weights, protocol, **CAL) as dac:
        dac.set_weights(weights(w_int=0.0))
        dac.shutdown()


def test_the_calibration_sheet_must_cover_every_parameter():
    with pytest.raises(ValueError, match="3 parameters"):
        with expected_protocol(QDAC2Weights, [], **dict(CAL, channels=[1, 2])):
            pass
    with pytest.raises(ValueError, match="volts_per_unit"):
        with expected_protocol(QDAC2Weights, [], **dict(CAL, volts_per_unit={"w_ext": 1.0})):
            pass


def test_default_settling_time_follows_the_output_filter():
    with expected_protocol(QDAC2Weights, [], hidden=(1,), output_filter="med") as dac:
        assert dac.settling_time == pytest.approx(25 * np.log(2) / (2 * np.pi * 10e3))


def test_the_channels_spans_and_grid_are_the_specs_and_the_dialect_keeps_the_same_ones():
    """Driver and dialect read one spec (hil.instruments.QDEVIL_QDAC2)."""
    from hil.instruments import QDEVIL_QDAC2 as SPEC
    from hil.sim.chip import ChipWeights, OscillatorChip
    from hil.sim.scpi.dialects import get_dialect

    assert (SPEC.channels, SPEC.spans, SPEC.bits) == (24, {"high": 10.0, "low": 2.0}, 25)
    with expected_protocol(QDAC2Weights, [], hidden=(1,), output_range="low") as dac:  # default bits: the spec's
        assert dac.ranges["w_ext"][2] == pytest.approx(2 * SPEC.spans["low"] / 2**SPEC.bits)
    with pytest.raises(ValueError, match=f"1..{SPEC.channels}"):
        QDAC2Weights("unused", hidden=(1,), channels=[1, 2, SPEC.channels + 1])
    d = get_dialect(SPEC.key)(ChipWeights(OscillatorChip(hidden=(1,), seed=0)))
    assert d.execute(b"*IDN?") == SPEC.idn.encode() + b"\n"
    d.execute(f"sour{SPEC.channels}:volt {SPEC.voltage[1]}".encode())
    assert d.execute(b"syst:err?") == b'0,"No error"\n'
    d.execute(f"sour{SPEC.channels + 1}:volt 1".encode())
    assert b"-114" in d.execute(b"syst:err?")
    d.execute(f"sour1:rang low;:sour1:volt {SPEC.spans['low'] * 1.01}".encode())
    assert b"-222" in d.execute(b"syst:err?")
