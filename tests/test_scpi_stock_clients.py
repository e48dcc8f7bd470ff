"""Stock clients nobody in this project wrote — pymeasure's own drivers — against the twins'
SCPI server over pyvisa-py (TCPIP SOCKET on 127.0.0.1): the common calls succeed with an empty
error queue. Where the stock driver itself is wrong, the test says so and the twin behaves as
the real instrument would.

The twins here are the recording stand-ins of ``hil.sim.scpi.recorders`` behind the same
``serve_twins`` that ``hil twins serve`` runs (tests/test_e2e_scpi.py covers the CLI process).
"""

from __future__ import annotations

import numpy as np
import pytest
from pymeasure.instruments.agilent.agilent33500 import Agilent33500
from pymeasure.instruments.agilent.agilentE4408B import AgilentE4408B
from pymeasure.instruments.keithley import Keithley2400, Keithley6221
from pymeasure.instruments.keysight.keysight81160A import Keysight81160A
from pymeasure.instruments.rohdeschwarz.fsseries import FSL

from hil.sim.scpi.recorders import RecordingBiasSource, RecordingPulseGenerator, RecordingSpectrumAnalyser


@pytest.fixture
def stock(served):
    """served (tests/conftest.py) with a 3 s VISA timeout."""
    return lambda cls, dialect, twin: served(cls, dialect, twin, timeout=3000)


def errors(instrument) -> list:
    return [e for e in instrument.check_errors() if int(float(e[0])) != 0]


def common(instrument, model: str) -> None:
    """id, reset, clear, status: what every stock class inherits from SCPIMixin."""
    assert model in instrument.id
    instrument.reset()
    instrument.clear()
    assert int(instrument.status) == 0
    assert instrument.options is not None
    assert errors(instrument) == []


# pymeasure's own Keithley2400 warns that apply_current / auto_range_source / measure_voltage are deprecated in
# pymeasure itself; they are the common calls a stock user makes, which is what this test must exercise.
@pytest.mark.filterwarnings("ignore:Deprecated to use `Keithley2400:FutureWarning")
def test_keithley2400(stock):
    smu, dialect = stock(Keithley2400, "keithley2400", RecordingBiasSource(resistance=100.0))
    common(smu, "MODEL 2400")
    smu.apply_current(current_range=None, compliance_voltage=5)
    smu.source_current = 2e-3
    smu.enable_source()
    smu.measure_voltage(nplc=1, voltage=21.0, auto_range=True)
    assert errors(smu) == []
    assert float(smu.voltage) == pytest.approx(0.2)  # :MEAS:VOLT? on 100 Ω
    smu.disable_source()
    assert errors(smu) == []


def test_keithley6221(stock):
    source, dialect = stock(Keithley6221, "keithley6221", RecordingBiasSource(resistance=100.0))
    common(source, "MODEL 6221")
    source.source_compliance = 10
    source.source_range = 20e-3
    source.source_current = 5e-3
    source.enable_source()
    assert source.source_current == pytest.approx(5e-3)
    assert source.source_enabled is True
    source.source_auto_range = True
    assert errors(source) == []
    # Stock defect: truncated_range clamps 0.2 A to 0.105 A without a word; the twin never sees 0.2.
    source.source_current = 0.2
    assert source.source_current == pytest.approx(0.105) and errors(source) == []
    source.disable_source()
    assert errors(source) == []


def test_agilent33500(stock):
    awg, dialect = stock(Agilent33500, "keysight33500b", RecordingPulseGenerator())
    common(awg, "33522B")
    awg.shape = "SIN"
    awg.frequency = 1e6
    awg.amplitude = 1.0
    awg.offset = 0.1
    awg.output_load = 50
    awg.burst_state = True
    awg.burst_ncycles = 2
    awg.trigger_source = "BUS"
    awg.output = True
    assert (awg.frequency, awg.amplitude, awg.offset) == (pytest.approx(1e6), pytest.approx(1.0), pytest.approx(0.1))
    assert errors(awg) == []
    awg.output = False
    assert errors(awg) == []


def test_keysight81160a(stock):
    gen, dialect = stock(Keysight81160A, "keysight81160a", RecordingPulseGenerator())
    common(gen, "81160A")
    ch = gen.ch_1
    ch.shape = "SIN"
    ch.frequency = 1e6
    ch.amplitude = 1.0
    ch.offset = 0.0
    ch.output_load = 50
    ch.trigger_mode = "MAN"
    ch.trigger_count = 1
    ch.output = True
    assert ch.trigger_count == 1 and float(ch.output_load) == 50
    ch.apply_sin(1e6, 1.0, 0.0)
    assert errors(gen) == []
    ch.output = False
    assert errors(gen) == []


def test_agilent_e4408b_on_the_xseries_twin(stock):
    sa, dialect = stock(AgilentE4408B, "keysight_xseries", RecordingSpectrumAnalyser(line_frequency=5e9))
    assert "N9020A" in sa.id
    sa.start_frequency = 4.9e9
    sa.stop_frequency = 5.1e9
    sa.center_frequency = 5e9
    sa.frequency_points = 1001
    assert sa.center_frequency == pytest.approx(5e9)
    trace = sa.trace()
    assert trace.size == 1001
    frequencies = sa.frequencies
    assert frequencies[np.argmax(trace)] == pytest.approx(5e9, abs=1e6)
    assert errors(sa) == []


def test_rs_fsl_on_the_fsv_twin(stock):
    sa, dialect = stock(FSL, "rs_fsv", RecordingSpectrumAnalyser(line_frequency=2e9))
    common(sa, "FSV")
    sa.freq_center = 2e9
    sa.freq_span = 20e6
    sa.res_bandwidth = 100e3
    sa.video_bandwidth = 30e3
    sa.attenuation = 10
    sa.continuous_sweep_enabled = False
    sa.trace_mode = "MAXH"
    assert sa.freq_start == pytest.approx(1.99e9) and sa.freq_stop == pytest.approx(2.01e9)
    assert errors(sa) == []


def test_keysight81160a_stock_upload_sends_no_terminator(stock):
    """Stock defect: ``waveform_volatile`` writes the DAC block with no message terminator, so the
    instrument (and the twin) still waits for the end of the message; the client's next query
    becomes bytes after the block (-161) and is never answered. Ending the message by hand
    (a bare newline) completes the upload. The project's driver sends the terminator."""
    gen, dialect = stock(Keysight81160A, "keysight81160a", RecordingPulseGenerator())
    gen.ch_1.waveform_volatile = np.sin(np.linspace(0, 2 * np.pi, 100))
    assert dialect.channels[1].dac is None  # the message has not ended
    gen.write("")  # the terminator the stock driver forgot
    assert errors(gen) == []
    assert dialect.channels[1].dac.size == 100
