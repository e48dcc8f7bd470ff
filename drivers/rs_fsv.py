"""Rohde & Schwarz FSV signal and spectrum analyser (FSV3/7/13/30/40) in spectrum mode,
as a :class:`hil.roles.SpectrumAnalyser`.

pymeasure's R&S drivers (FSL, FSW) read ASCII traces; this one reads
REAL,32 blocks, which the FSV sends least-significant byte first (it has no
byte-order setting). Ranges are the FSV's (:data:`hil.instruments.RS_FSV`, with
the references); ``max_frequency`` follows the model.

Before the first sweep the bench's ``max_frequency`` is checked against the
instrument: ``FREQ:STOP? MAX`` answers the top of its range. (On the FSV the
range is the model — FSV3, FSV7, FSV13 … in ``*IDN?`` — not an ``*OPT?``
code, so ``*OPT?`` has nothing to check it against.) A bench claiming more
than the instrument has raises :class:`hil.errors.InstrumentError`, nothing set.
"""

from __future__ import annotations

from pymeasure.instruments import Instrument, SCPIMixin

from hil.drivers._analyser import SweptAnalyserMixin, analyser_controls

from hil.instruments import RS_FSV as SPEC

FREQUENCY_RANGE = SPEC.frequency  # Hz, FSV13
RBW_RANGE = SPEC.rbw  # Hz
VBW_RANGE = SPEC.vbw  # Hz
POINTS_RANGE = SPEC.points
SWEEP_TIME_RANGE = SPEC.sweep_time  # s, zero span


_Controls = analyser_controls("", FREQUENCY_RANGE, RBW_RANGE, VBW_RANGE, POINTS_RANGE, SWEEP_TIME_RANGE, SPEC,
                              trace_mode_header="DISP:TRAC1:MODE", attenuation_header="INP:ATT")


class RohdeSchwarzFSVAnalyser(SweptAnalyserMixin, _Controls, SCPIMixin, Instrument):
    """R&S FSV spectrum analyser: swept traces and zero-span power versus time.

    :param adapter: VISA resource name or pymeasure adapter.
    :param max_frequency: top of the model's range in Hz (13.6 GHz for the FSV13).
    :param kwargs: passed to pymeasure's VISA adapter (``read_termination``, ``timeout`` ...).
        The VISA timeout must exceed the longest sweep.
    """

    MODEL = "FSV"
    MODE_SETUP = ("UNIT:POW DBM",)  # the role's unit; the spectrum mode is the FSV's default
    FREQUENCY_MAX_QUERY = "FREQ:STOP? MAX"  # the model's top frequency (its range is not an *OPT? code)
    BINARY_SETUP = ("FORM REAL,32",)
    BIG_ENDIAN = False
    INITIATE_AND_WAIT = "INIT:IMM;*OPC?"
    TRACE_QUERY = "TRAC:DATA? TRACE1"
    MIN_SPAN = 10.0  # Hz; 0 is zero span

    def __init__(self, adapter, name: str = "Rohde & Schwarz FSV", max_frequency: float = FREQUENCY_RANGE[1],
                 **kwargs):
        super().__init__(adapter, name, max_frequency, **kwargs)
