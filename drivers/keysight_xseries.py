"""Keysight X-series signal analysers (N9000 CXA … N9030 PXA, N9020A MXA) in the Spectrum
Analyzer mode, as a :class:`hil.roles.SpectrumAnalyser`.

pymeasure has no X-series driver. Traces come back as REAL,32 blocks in
little-endian order (``:FORM:BORD SWAP``), the byte order of the PC.
Ranges are the N9020A's; ``max_frequency`` follows the frequency option.
"""

from __future__ import annotations

from pymeasure.instruments import Instrument, SCPIMixin

from hil.drivers._analyser import SweptAnalyserMixin, analyser_controls

FREQUENCY_RANGE = (0.0, 26.5e9)  # Hz, option 526
RBW_RANGE = (1.0, 8e6)  # Hz
VBW_RANGE = (1.0, 50e6)  # Hz
POINTS_RANGE = (1, 40001)
SWEEP_TIME_RANGE = (1e-6, 6000.0)  # s, zero span (swept: 1 ms and up, coupled)


_Controls = analyser_controls(":", FREQUENCY_RANGE, RBW_RANGE, VBW_RANGE, POINTS_RANGE, SWEEP_TIME_RANGE)


class KeysightXSeriesAnalyser(SweptAnalyserMixin, _Controls, SCPIMixin, Instrument):
    """Keysight X-series spectrum analyser: swept traces and zero-span power versus time.

    :param adapter: VISA resource name or pymeasure adapter.
    :param max_frequency: top of the installed frequency range in Hz (26.5 GHz for option 526).
    :param kwargs: passed to pymeasure's VISA adapter (``read_termination``, ``timeout`` ...).
        The VISA timeout must exceed the longest sweep.
    """

    MODEL = "X-series analyser"
    BINARY_SETUP = (":FORM REAL,32", ":FORM:BORD SWAP")
    BIG_ENDIAN = False
    INITIATE_AND_WAIT = ":INIT:IMM;*OPC?"
    TRACE_QUERY = ":TRAC:DATA? TRACE1"
    MIN_SPAN = 10.0  # Hz; 0 is zero span

    def __init__(self, adapter, name: str = "Keysight X-series signal analyser",
                 max_frequency: float = FREQUENCY_RANGE[1], **kwargs):
        super().__init__(adapter, name, max_frequency, **kwargs)
