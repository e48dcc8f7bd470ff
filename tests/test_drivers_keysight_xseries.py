"""Keysight X-series analyser driver: exact bytes of every role method, binary trace decoding,
and refusals that send nothing."""

from __future__ import annotations

import numpy as np
import pytest
from pymeasure.test import expected_protocol

from hil.drivers.keysight_xseries import KeysightXSeriesAnalyser
from hil.roles import SpectrumAnalyser

ACQUIRE = [
    (":FORM REAL,32", None),
    (":FORM:BORD SWAP", None),
    (":INIT:CONT OFF", None),
    (":INIT:IMM;*OPC?", "1"),
]


NO_ERROR = ("SYST:ERR?", '0,"No error"')
#: Before the first configuration: Spectrum Analyzer mode, Swept SA, dBm, and the instrument's points limit.
MODE = [("*OPT?", "526,EA3,P26"), (":INST:SEL SA", None), (":CONF:SAN", None), (":UNIT:POW DBM", None), (":SWE:POIN? MAX", "40001"),
        NO_ERROR]


def reply_block(values: np.ndarray) -> bytes:
    """What the analyser sends after ``:FORM:BORD SWAP``: #, digit count, byte count, little-endian float32, LF."""
    payload = np.asarray(values, dtype="<f4").tobytes()
    length = str(len(payload)).encode()
    return b"#" + str(len(length)).encode() + length + payload + b"\n"


def test_satisfies_the_spectrum_analyser_role():
    with expected_protocol(KeysightXSeriesAnalyser, []) as sa:
        assert isinstance(sa, SpectrumAnalyser)


def test_configure_sweep_sends_each_setting():
    protocol = MODE + [
        (":FREQ:CENT 5000000000", None),
        (":FREQ:SPAN 100000000", None),
        (":BAND 100000", None),
        (":BAND:VID 30000", None),
        (":SWE:POIN 501", None),
        NO_ERROR,
    ]
    with expected_protocol(KeysightXSeriesAnalyser, protocol) as sa:
        sa.configure_sweep(5e9, 100e6, 100e3, 30e3, 501)


def test_sweep_waits_for_completion_and_decodes_a_little_endian_real32_block():
    power = np.linspace(-90.0, -40.0, 501, dtype=np.float32)
    block = reply_block(power)
    assert block.startswith(b"#42004")  # 501 floats = 2004 bytes
    protocol = ACQUIRE + [
        (":TRAC:DATA? TRACE1", block),
        (":FREQ:STAR?", "4950000000"),
        (":FREQ:STOP?", "5050000000"),
    ]
    with expected_protocol(KeysightXSeriesAnalyser, protocol) as sa:
        frequency, trace = sa.sweep()
    np.testing.assert_array_equal(trace, power.astype(np.float64))
    np.testing.assert_allclose(frequency, np.linspace(4.95e9, 5.05e9, 501))
    assert frequency.dtype == trace.dtype == np.float64


def test_zero_span_returns_power_against_time_from_the_sweep_start():
    power = np.array([-61.5, -60.25, -59.0], dtype=np.float32)
    protocol = MODE + [
        (":FREQ:CENT 5000000000", None),
        (":FREQ:SPAN 0", None),
        (":BAND 1000000", None),
        (":SWE:TIME 0.002", None),
        (":SWE:POIN 3", None),
        NO_ERROR,
        *ACQUIRE,
        (":TRAC:DATA? TRACE1", reply_block(power)),
        (":SWE:TIME?", "2.000000000E-03"),
    ]
    with expected_protocol(KeysightXSeriesAnalyser, protocol) as sa:
        time, trace = sa.zero_span(5e9, 1e6, 2e-3, 3)
    np.testing.assert_array_equal(time, [0.0, 1e-3, 2e-3])
    np.testing.assert_array_equal(trace, [-61.5, -60.25, -59.0])


def test_shutdown_leaves_it_sweeping_and_close_closes():
    with expected_protocol(KeysightXSeriesAnalyser, [(":INIT:CONT ON", None)]) as sa:
        sa.shutdown()
        sa.close()


def test_an_ascii_reply_where_a_block_belongs_is_an_error_not_garbage():
    protocol = ACQUIRE + [(":TRAC:DATA? TRACE1", b"-50.0,-51.0\n")]
    with expected_protocol(KeysightXSeriesAnalyser, protocol) as sa:
        with pytest.raises(ValueError, match="IEEE 488.2 block"):
            sa.sweep()


def test_a_sweep_that_does_not_complete_is_an_error():
    with expected_protocol(KeysightXSeriesAnalyser, ACQUIRE[:-1] + [(":INIT:IMM;*OPC?", "0")]) as sa:
        with pytest.raises(RuntimeError, match="completion"):
            sa.sweep()


@pytest.mark.parametrize(
    "args, match",
    [
        ((5e9, 0.0, 1e5, 1e5, 501), "span"),  # zero span has its own method
        ((5e9, 1e6, 1e7, 1e5, 501), "resolution bandwidth"),
        ((5e9, 1e6, 1e5, 1e8, 501), "video bandwidth"),
        ((5e9, 1e6, 1e5, 1e5, 0), "trace points"),
        ((5e9, 1e6, 1e5, 1e5, 40002), "trace points"),
        ((5e9, 1e6, 1e5, 1e5, 500.5), "integer"),
        ((26.4e9, 1e9, 1e5, 1e5, 501), "stop frequency"),
        ((1e6, 10e6, 1e5, 1e5, 501), "start frequency"),
        ((float("nan"), 1e6, 1e5, 1e5, 501), "start frequency"),
    ],
)
def test_an_impossible_sweep_raises_and_sends_nothing(args, match):
    with expected_protocol(KeysightXSeriesAnalyser, []) as sa:
        with pytest.raises(ValueError, match=match):
            sa.configure_sweep(*args)


def test_max_frequency_follows_the_installed_option():
    with expected_protocol(KeysightXSeriesAnalyser, [], max_frequency=3.6e9) as sa:
        with pytest.raises(ValueError, match="start frequency 4.9995e"):
            sa.configure_sweep(5e9, 1e6, 1e5, 1e5, 501)
        with pytest.raises(ValueError, match="frequency"):
            sa.zero_span(4e9, 1e5, 1e-3, 101)


def test_an_impossible_zero_span_raises_and_sends_nothing():
    with expected_protocol(KeysightXSeriesAnalyser, []) as sa:
        with pytest.raises(ValueError, match="sweep time"):
            sa.zero_span(5e9, 1e6, 1e-7, 101)


def test_the_points_limit_is_the_one_the_instrument_reports():
    """QCoDeS' N9030B allows 20001 points; an instrument that says so refuses 40001 before any setting."""
    mode = [("*OPT?", "526"), (":INST:SEL SA", None), (":CONF:SAN", None), (":UNIT:POW DBM", None), (":SWE:POIN? MAX", "20001"),
            NO_ERROR]
    with expected_protocol(KeysightXSeriesAnalyser, mode) as sa:
        with pytest.raises(ValueError, match="as it reports"):
            sa.configure_sweep(5e9, 100e6, 100e3, 30e3, 40001)


def test_bench_controls_send_the_exact_commands():
    protocol = [
        (":DISP:WIND:TRAC:Y:RLEV -10", None),
        (":POW:ATT 20", None),
        (":POW:GAIN ON", None),
        (":DET POS", None),
        (":AVER:COUN 16", None),
        (":AVER ON", None),
        (":TRAC1:TYPE MAXH", None),
        (":BAND:AUTO OFF", None),
        (":ROSC:SOUR EXT", None),
        (":CALC:MARK1:MAX", None),
        (":CALC:MARK1:X?", "5.01E+09"),
        (":CALC:MARK1:Y?", "-20.5"),
        (":INIT:CONT?", "1"),  # pymeasure hands over 1.0: it must read as continuous
    ]
    with expected_protocol(KeysightXSeriesAnalyser, protocol) as sa:
        sa.reference_level = -10
        sa.attenuation = 20
        sa.preamp_enabled = True
        sa.detector = "POS"
        sa.average_count = 16
        sa.averaging_enabled = True
        sa.trace_mode = "MAXH"
        sa.rbw_auto = False
        sa.reference_source = "EXT"
        assert sa.peak_search() == (5.01e9, -20.5)
        assert sa.continuous_sweep_enabled is True


def test_a_bench_claiming_more_frequency_than_the_installed_option_is_refused():
    from hil.errors import InstrumentError

    with expected_protocol(KeysightXSeriesAnalyser, [("*OPT?", "508,EA3")], max_frequency=26.5e9) as sa:
        with pytest.raises(InstrumentError, match="stops at 8.5e\\+09 Hz"):
            sa.configure_sweep(5e9, 100e6, 100e3, 30e3, 501)


@pytest.mark.parametrize("options, bench, refused", [
    ("503", 3.7e9, False), ("503", 4e9, True),  # QCoDeS' N9030B: 503 → 3.7 GHz, 508 → 8.5, 513 → 13.8,
    ("513,EA3", 13.8e9, False), ("513,EA3", 26.5e9, True),  # 526 → 27, 544 → 44.5 GHz
    ("526", 26.5e9, False), ("544,P44", 44e9, False), ("508,544", 44e9, False),  # the widest one counts
    ("EA3,P26", 50e9, False),  # no frequency code known: not checked
])
def test_the_frequency_option_codes(options, bench, refused):
    from hil.errors import InstrumentError

    if refused:
        with expected_protocol(KeysightXSeriesAnalyser, [("*OPT?", options)], max_frequency=bench) as sa:
            with pytest.raises(InstrumentError, match="installed frequency option"):
                sa.configure_sweep(1e9, 1e6, 1e5, 1e5, 501)
    else:
        mode = [("*OPT?", options), (":INST:SEL SA", None), (":CONF:SAN", None), (":UNIT:POW DBM", None),
                (":SWE:POIN? MAX", "40001"), NO_ERROR]
        setting = [(":FREQ:CENT 1000000000", None), (":FREQ:SPAN 1000000", None), (":BAND 100000", None),
                   (":BAND:VID 100000", None), (":SWE:POIN 501", None), NO_ERROR]
        with expected_protocol(KeysightXSeriesAnalyser, mode + setting, max_frequency=bench) as sa:
            sa.configure_sweep(1e9, 1e6, 1e5, 1e5, 501)
