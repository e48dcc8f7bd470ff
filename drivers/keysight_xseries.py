"""Keysight X-series signal analysers (N9000 CXA … N9030 PXA, N9020A MXA) in the Spectrum
Analyzer mode, as a :class:`hil.roles.SpectrumAnalyser`.

pymeasure has no X-series driver. Before the first sweep: ``:INST:SEL SA``
(Spectrum Analyzer mode), ``:CONF:SAN`` (Swept SA measurement) and
``:UNIT:POW DBM`` — in another mode ``:TRAC:DATA?`` fails, in another unit
the role's dBm would be wrong — and ``:SWE:POIN? MAX`` (the limit depends on
model and firmware: 20001 on QCoDeS' N9030B, 40001 on a recent N9020A).
Traces come back as REAL,32 blocks in little-endian order (``:FORM REAL,32``
and ``:FORM:BORD SWAP`` before every read), the byte order of the PC.
Ranges are the N9020A's (:data:`hil.instruments.KEYSIGHT_XSERIES`, with the
references); ``max_frequency`` follows the frequency option: before the first
sweep ``*OPT?`` is read and a bench claiming more than the installed option
(503, 508, 513, 526 or 544, the codes QCoDeS' N9030B driver reads) raises
:class:`hil.errors.InstrumentError` before any setting is sent.
"""

from __future__ import annotations

from pymeasure.instruments import Instrument, SCPIMixin

from hil.drivers._analyser import SweptAnalyserMixin, analyser_controls

from hil.instruments import KEYSIGHT_XSERIES as SPEC

FREQUENCY_RANGE = SPEC.frequency  # Hz, option 526
RBW_RANGE = SPEC.rbw  # Hz
VBW_RANGE = SPEC.vbw  # Hz
POINTS_RANGE = SPEC.points  # narrowed by ':SWE:POIN? MAX' on first use
SWEEP_TIME_RANGE = SPEC.sweep_time  # s, zero span (swept: 1 ms and up, coupled)


_Controls = analyser_controls(":", FREQUENCY_RANGE, RBW_RANGE, VBW_RANGE, POINTS_RANGE, SWEEP_TIME_RANGE, SPEC,
                              trace_mode_header=":TRAC1:TYPE", attenuation_header=":POW:ATT")


class KeysightXSeriesAnalyser(SweptAnalyserMixin, _Controls, SCPIMixin, Instrument):
    """Keysight X-series spectrum analyser: swept traces and zero-span power versus time.

    :param adapter: VISA resource name or pymeasure adapter.
    :param max_frequency: top of the installed frequency range in Hz (26.5 GHz for option 526).
    :param kwargs: passed to pymeasure's VISA adapter (``read_termination``, ``timeout`` ...).
        The VISA timeout must exceed the longest sweep.
    """

    MODEL = "X-series analyser"
    MODE_SETUP = (":INST:SEL SA", ":CONF:SAN", ":UNIT:POW DBM")
    POINTS_MAX_QUERY = ":SWE:POIN? MAX"
    FREQUENCY_OPTIONS = SPEC.frequency_options
    BINARY_SETUP = (":FORM REAL,32", ":FORM:BORD SWAP")
    BIG_ENDIAN = False
    INITIATE_AND_WAIT = ":INIT:IMM;*OPC?"
    TRACE_QUERY = ":TRAC:DATA? TRACE1"
    MIN_SPAN = 10.0  # Hz; 0 is zero span

    def __init__(self, adapter, name: str = "Keysight X-series signal analyser",
                 max_frequency: float = FREQUENCY_RANGE[1], **kwargs):
        super().__init__(adapter, name, max_frequency, **kwargs)
