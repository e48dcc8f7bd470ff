"""Keysight InfiniiVision 4000 X driver (Digitizer role): exact bytes of configure, arm and fetch,
WORD decoding with the preamble's scaling, segmented transfers, and refusals that send nothing."""

from __future__ import annotations

import numpy as np
import pytest
from pymeasure.test import expected_protocol

from hil.drivers.keysight_infiniivision import KeysightInfiniiVisionDigitizer
from hil.errors import InstrumentError
from hil.roles import Digitizer

SETUP_1_2 = [
    (":CHANnel1:DISPlay 1", None), (":CHANnel1:RANGe 1.5", None), (":CHANnel1:OFFSet 0.5", None),
    (":CHANnel2:DISPlay 1", None), (":CHANnel2:RANGe 1.5", None), (":CHANnel2:OFFSet 0.5", None),
    (":CHANnel3:DISPlay 0", None), (":CHANnel4:DISPlay 0", None),
    (":TIMebase:REFerence LEFT", None),
    (":TIMebase:RANGe 1.001e-06", None),
    (":TIMebase:POSition 1.001e-07", None),
    (":TRIGger:MODE EDGE", None),
    (":TRIGger:EDGE:SOURce EXTernal", None),
    (":TRIGger:EDGE:SLOPe POSitive", None),
    (":TRIGger:EDGE:LEVel 1", None),
]
TRANSFER = [
    (":WAVeform:FORMat WORD", None),
    (":WAVeform:BYTeorder LSBFirst", None),
    (":WAVeform:UNSigned 0", None),
    (":WAVeform:POINts:MODE RAW", None),
]


def block(codes) -> bytes:
    """WORD data as the scope sends it after :WAV:BYT LSBF: a definite-length block of little-endian int16."""
    payload = np.asarray(codes, dtype="<i2").tobytes()
    length = str(len(payload)).encode()
    return b"#" + str(len(length)).encode() + length + payload + b"\n"


def preamble(points: int, xinc: float = 1e-9, yinc: float = 1.5 / 65536, yorig: float = 0.5) -> str:
    return f"+1,+0,+{points},+1,{xinc:+.6E},+0.0E+00,+0,{yinc:+.9E},{yorig:+.6E},+0"


def test_satisfies_the_digitizer_role():
    with expected_protocol(KeysightInfiniiVisionDigitizer, []) as scope:
        assert isinstance(scope, Digitizer)


def test_configure_sends_channels_time_base_trigger_and_transfer_format_once():
    protocol = SETUP_1_2 + [(":ACQuire:MODE RTIMe", None)] + TRANSFER
    with expected_protocol(KeysightInfiniiVisionDigitizer, protocol) as scope:
        scope.configure([1, 2], 1e9, 1001, 1, 1.5, 0.5)
        scope.configure([1, 2], 1e9, 1001, 1, 1.5, 0.5)  # the same set-up again: nothing sent


def test_configure_segmented():
    protocol = SETUP_1_2 + [(":ACQuire:MODE SEGMented", None), (":ACQuire:SEGMented:COUNt 8", None)] + TRANSFER
    with expected_protocol(KeysightInfiniiVisionDigitizer, protocol) as scope:
        scope.configure([1, 2], 1e9, 1001, 8, 1.5, 0.5)


@pytest.mark.parametrize("args, match", [
    (([5], 1e9, 100, 1, 1.0), "channels"),
    (([1, 1], 1e9, 100, 1, 1.0), "channels"),
    (([1, 2, 3], 5e9, 100, 1, 1.0), "sample rate"),  # 2.5 GSa/s with three channels on
    (([1], 1e9, 100, 1001, 1.0), "segments"),
    (([1], 1e9, 3_000_000, 2, 1.0), "record"),
    (([1], 1e9, 100, 1, 50.0), "vertical range"),
])
def test_refusals_send_nothing(args, match):
    with expected_protocol(KeysightInfiniiVisionDigitizer, []) as scope:
        with pytest.raises(ValueError, match=match):
            scope.configure(*args)


def test_arm_waits_until_the_trigger_is_armed():
    protocol = SETUP_1_2 + [(":ACQuire:MODE RTIMe", None)] + TRANSFER + [
        (":SINGle", None), (":AER?", "+0"), (":AER?", "+1")]
    with expected_protocol(KeysightInfiniiVisionDigitizer, protocol) as scope:
        scope.configure([1, 2], 1e9, 1001, 1, 1.5, 0.5)
        scope.arm()


def test_arm_before_configure_is_refused():
    with expected_protocol(KeysightInfiniiVisionDigitizer, []) as scope:
        with pytest.raises(InstrumentError, match="configure"):
            scope.arm()


def test_fetch_polls_the_run_bit_then_reads_each_channel_with_its_scaling():
    codes1, codes2 = np.arange(-500, 501), np.full(1001, 1000)
    protocol = SETUP_1_2 + [(":ACQuire:MODE RTIMe", None)] + TRANSFER + [
        (":OPERegister:CONDition?", "+8"), (":OPERegister:CONDition?", "+0"),
        (":WAVeform:SOURce CHANnel1", None), (":WAVeform:PREamble?", preamble(1001)), (":WAVeform:DATA?", block(codes1)),
        (":WAVeform:SOURce CHANnel2", None), (":WAVeform:PREamble?", preamble(1001)), (":WAVeform:DATA?", block(codes2)),
    ]
    with expected_protocol(KeysightInfiniiVisionDigitizer, protocol) as scope:
        scope.configure([1, 2], 1e9, 1001, 1, 1.5, 0.5)
        t, volts = scope.fetch()
    assert volts.shape == (1, 2, 1001)
    np.testing.assert_allclose(t, np.arange(1001) * 1e-9)
    np.testing.assert_allclose(volts[0, 0], 0.5 + codes1 * 1.5 / 65536, rtol=1e-8)
    np.testing.assert_allclose(volts[0, 1], 0.5 + 1000 * 1.5 / 65536, rtol=1e-8)


def test_fetch_segmented_reads_every_segment_in_one_block():
    codes = np.arange(8 * 1001) % 300 - 150
    protocol = SETUP_1_2 + [(":ACQuire:MODE SEGMented", None), (":ACQuire:SEGMented:COUNt 8", None)] + TRANSFER + [
        (":OPERegister:CONDition?", "+0"),
        (":WAVeform:SOURce CHANnel1", None), (":WAVeform:SEGMented:ALL 1", None),
        (":WAVeform:PREamble?", preamble(1001)), (":WAVeform:DATA?", block(codes)),
        (":WAVeform:SOURce CHANnel2", None), (":WAVeform:SEGMented:ALL 1", None),
        (":WAVeform:PREamble?", preamble(1001)), (":WAVeform:DATA?", block(-codes)),
    ]
    with expected_protocol(KeysightInfiniiVisionDigitizer, protocol) as scope:
        scope.configure([1, 2], 1e9, 1001, 8, 1.5, 0.5)
        _, volts = scope.fetch()
    assert volts.shape == (8, 2, 1001)
    np.testing.assert_allclose(volts[3, 1], 0.5 - codes[3 * 1001:4 * 1001] * 1.5 / 65536, rtol=1e-8)


def test_a_missing_trigger_times_out_with_the_wiring_hint():
    protocol = SETUP_1_2 + [(":ACQuire:MODE RTIMe", None)] + TRANSFER + [(":OPERegister:CONDition?", "+8")]
    with expected_protocol(KeysightInfiniiVisionDigitizer, protocol, fetch_timeout=0.0) as scope:
        scope.configure([1, 2], 1e9, 1001, 1, 1.5, 0.5)
        with pytest.raises(InstrumentError, match="EXT TRIG"):
            scope.fetch()


def test_the_limits_are_the_specs_and_the_dialect_keeps_the_same_ones():
    """Driver and dialect read one spec (hil.instruments.KEYSIGHT_INFINIIVISION): a set-up at the spec's
    edge passes both, one step beyond is refused by both."""
    from hil.instruments import KEYSIGHT_INFINIIVISION as SPEC
    from hil.sim.chip import ChipDigitizer, OscillatorChip
    from hil.sim.scpi.dialects import get_dialect

    rate3, memory3 = SPEC.limits(3)
    assert (rate3, memory3) == (SPEC.max_rate / 2, SPEC.memory // 2) and SPEC.limits(2) == (5e9, 4_000_000)
    with expected_protocol(KeysightInfiniiVisionDigitizer, []) as scope:
        for args, match in (
            (([1, 2, 3], rate3 * 1.01, 100, 1, 1.0), "sample rate"),
            (([1, 2, 3], 1e9, memory3 // 2 + 1, 2, 1.0), "record"),
            (([1], 1e9, 100, SPEC.max_segments + 1, 1.0), "segments"),
            (([1], 1e9, 100, 1, SPEC.channel_range[1] * 1.01), "vertical range"),
            (([1], 1e9, 100, 1, 1.0, SPEC.offset[1] + 1), "vertical offset"),
        ):
            with pytest.raises(ValueError, match=match):
                scope.configure(*args)
    d = get_dialect(SPEC.key)(ChipDigitizer(OscillatorChip(hidden=(2,), seed=0)))
    assert d.execute(b"*IDN?") == SPEC.idn.encode() + b"\n"
    d.execute(f":CHAN1:RANG {SPEC.channel_range[1]};:ACQ:SEGM:COUN {SPEC.max_segments}".encode())
    assert d.execute(b"SYST:ERR?") == b'0,"No error"\n'
    d.execute(f":CHAN1:RANG {SPEC.channel_range[1] * 1.01}".encode())
    assert d.execute(b"SYST:ERR?").startswith(b"-222")
    d.execute(f":ACQ:SEGM:COUN {SPEC.max_segments + 1}".encode())
    assert d.execute(b"SYST:ERR?").startswith(b"-222")
