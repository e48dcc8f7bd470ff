"""R&S FSV analyser driver: exact bytes of every role method, little-endian REAL,32 traces,
and refusals that send nothing."""

from __future__ import annotations

import re

import numpy as np
import pytest
from pymeasure.test import expected_protocol

from hil.drivers.rs_fsv import RohdeSchwarzFSVAnalyser
from hil.roles import SpectrumAnalyser

ACQUIRE = [("FORM REAL,32", None), ("INIT:CONT OFF", None), ("INIT:IMM;*OPC?", "1")]
NO_ERROR = ("SYST:ERR?", '0,"No error"')
#: Before the first configuration: the model's top frequency checked against the bench, then the role's
#: unit (spectrum mode is the FSV's default).
MODE = [("FREQ:STOP? MAX", "1.36E+10"), ("UNIT:POW DBM", None), NO_ERROR]


def reply_block(values: np.ndarray) -> bytes:
    """What the FSV sends for REAL,32: least-significant byte first."""
    payload = np.asarray(values, dtype="<f4").tobytes()
    length = str(len(payload)).encode()
    return b"#" + str(len(length)).encode() + length + payload + b"\n"


def test_satisfies_the_spectrum_analyser_role():
    with expected_protocol(RohdeSchwarzFSVAnalyser, []) as sa:
        assert isinstance(sa, SpectrumAnalyser)


def test_configure_sweep_sends_each_setting():
    protocol = MODE + [
        ("FREQ:CENT 2500000000", None),
        ("FREQ:SPAN 20000000", None),
        ("BAND 30000", None),
        ("BAND:VID 10000", None),
        ("SWE:POIN 691", None),
        NO_ERROR,
    ]
    with expected_protocol(RohdeSchwarzFSVAnalyser, protocol) as sa:
        sa.configure_sweep(2.5e9, 20e6, 30e3, 10e3, 691)


def test_sweep_decodes_the_little_endian_block():
    power = np.linspace(-80.0, -30.0, 691).astype(np.float32)
    block = reply_block(power)
    assert block.startswith(b"#42764")
    protocol = ACQUIRE + [
        ("TRAC:DATA? TRACE1", block),
        ("FREQ:STAR?", "2490000000"),
        ("FREQ:STOP?", "2510000000"),
    ]
    with expected_protocol(RohdeSchwarzFSVAnalyser, protocol) as sa:
        frequency, trace = sa.sweep()
    np.testing.assert_array_equal(trace, power)
    assert frequency[0] == 2.49e9 and frequency[-1] == 2.51e9 and frequency.size == 691


def test_big_endian_bytes_would_not_decode_to_the_same_trace():
    """The byte order is part of the protocol: the same floats sent big-endian read as nonsense."""
    power = np.array([-50.0, -40.0], dtype=np.float32)
    wrong = reply_block(power.astype(">f4").view("<f4"))
    protocol = ACQUIRE + [("TRAC:DATA? TRACE1", wrong), ("FREQ:STAR?", "1"), ("FREQ:STOP?", "2")]
    with expected_protocol(RohdeSchwarzFSVAnalyser, protocol) as sa:
        _, trace = sa.sweep()
    assert not np.allclose(trace, power)


def test_zero_span():
    power = np.full(101, -70.0, dtype=np.float32)
    protocol = MODE + [
        ("FREQ:CENT 1000000000", None),
        ("FREQ:SPAN 0", None),
        ("BAND 100000", None),
        ("SWE:TIME 1e-05", None),
        ("SWE:POIN 101", None),
        NO_ERROR,
        *ACQUIRE,
        ("TRAC:DATA? TRACE1", reply_block(power)),
        ("SWE:TIME?", "1E-05"),
    ]
    with expected_protocol(RohdeSchwarzFSVAnalyser, protocol) as sa:
        time, trace = sa.zero_span(1e9, 1e5, 1e-5, 101)
    np.testing.assert_allclose(time, np.linspace(0, 1e-5, 101))
    np.testing.assert_array_equal(trace, power)


def test_shutdown_leaves_it_sweeping_and_close_closes():
    with expected_protocol(RohdeSchwarzFSVAnalyser, [("INIT:CONT ON", None)]) as sa:
        sa.shutdown()
        sa.close()


def test_a_truncated_block_is_an_error():
    protocol = ACQUIRE + [("TRAC:DATA? TRACE1", b"#18\x00\x00\x48\xc2\n")]  # says 8 bytes, 4 + LF came
    with expected_protocol(RohdeSchwarzFSVAnalyser, protocol) as sa:
        with pytest.raises(ValueError, match="terminator"):
            sa.sweep()


@pytest.mark.parametrize(
    "args, match",
    [
        ((2.5e9, 20e6, 30e3, 10e3, 100), "trace points"),  # the FSV takes 101 to 32001
        ((2.5e9, 20e6, 20e6, 10e3, 691), "resolution bandwidth"),
        ((13.6e9, 20e6, 30e3, 10e3, 691), "stop frequency"),
        ((2.5e9, 5.0, 30e3, 10e3, 691), "span"),
    ],
)
def test_an_impossible_sweep_raises_and_sends_nothing(args, match):
    with expected_protocol(RohdeSchwarzFSVAnalyser, []) as sa:
        with pytest.raises(ValueError, match=match):
            sa.configure_sweep(*args)


def test_bench_controls_use_the_rs_headers():
    protocol = [("INP:ATT 10", None), ("DISP:TRAC1:MODE MAXH", None), ("DET APE", None), ("INIT:CONT?", "0")]
    with expected_protocol(RohdeSchwarzFSVAnalyser, protocol) as sa:
        sa.attenuation = 10
        sa.trace_mode = "MAXH"
        sa.detector = "APE"
        assert sa.continuous_sweep_enabled is False


@pytest.mark.parametrize("model_top, bench", [(7e9, 13.6e9), (3.6e9, 4e9)])
def test_a_bench_claiming_more_than_the_model_has_is_refused_before_any_setting(model_top, bench):
    """The FSV's range is the model (FSV3/7/13/30/40), not an *OPT? code: the instrument says its top."""
    from hil.errors import InstrumentError

    with expected_protocol(RohdeSchwarzFSVAnalyser, [("FREQ:STOP? MAX", f"{model_top:E}")],
                           max_frequency=bench) as sa:
        with pytest.raises(InstrumentError, match=re.escape(f"tunes to {model_top:.4g} Hz at most")):
            sa.configure_sweep(2.5e9, 20e6, 30e3, 10e3, 691)


def test_a_bench_within_the_model_passes_and_a_garbled_answer_is_an_error():
    from hil.errors import InstrumentError

    protocol = [("FREQ:STOP? MAX", "7E9"), ("UNIT:POW DBM", None), NO_ERROR, ("FREQ:CENT 2500000000", None),
                ("FREQ:SPAN 20000000", None), ("BAND 30000", None), ("BAND:VID 10000", None), ("SWE:POIN 691", None),
                NO_ERROR]
    with expected_protocol(RohdeSchwarzFSVAnalyser, protocol, max_frequency=7e9) as sa:
        sa.configure_sweep(2.5e9, 20e6, 30e3, 10e3, 691)
    with expected_protocol(RohdeSchwarzFSVAnalyser, [("FREQ:STOP? MAX", "FSV-7")]) as sa:
        with pytest.raises(InstrumentError, match="not a frequency"):
            sa.configure_sweep(2.5e9, 20e6, 30e3, 10e3, 691)


def test_the_options_check_over_scpi_against_the_fsv_dialect():
    """The dialect answers FREQ:STOP? MAX with its model's top (the FSV13's 13.6 GHz)."""
    from hil.errors import InstrumentError
    from hil.sim.scpi import serve_twins
    from hil.sim.scpi.recorders import RecordingSpectrumAnalyser

    visa = {"visa_library": "@py", "read_termination": "\n", "write_termination": "\n", "timeout": 5000}
    group = serve_twins({"sa": ("rs_fsv", RecordingSpectrumAnalyser(line_frequency=2.5e9))})
    try:
        sa = RohdeSchwarzFSVAnalyser(group.resources["sa"], max_frequency=13.6e9, **visa)
        frequency, power = (sa.configure_sweep(2.5e9, 20e6, 30e3, 10e3, 691), sa.sweep())[1]
        assert frequency[np.argmax(power)] == pytest.approx(2.5e9, abs=50e3) and sa.check_errors() == []
        sa.close()
        sa = RohdeSchwarzFSVAnalyser(group.resources["sa"], max_frequency=30e9, **visa)  # an FSV30's claim
        with pytest.raises(InstrumentError, match="1.36e\\+10 Hz at most"):
            sa.configure_sweep(2.5e9, 20e6, 30e3, 10e3, 691)
        assert sa.check_errors() == []
        sa.close()
    finally:
        group.stop()
