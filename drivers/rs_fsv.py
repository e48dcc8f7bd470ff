"""Rohde & Schwarz FSV signal and spectrum analyser (FSV3/7/13/30/40) in spectrum mode,
as a :class:`hil.roles.SpectrumAnalyser`.

pymeasure's R&S drivers (FSL, FSW) read ASCII traces; this one reads
REAL,32 blocks, which the FSV sends least-significant byte first (it has no
byte-order setting). Ranges are the FSV's; ``max_frequency`` follows the model.
"""

from __future__ import annotations

from pymeasure.instruments import Instrument, SCPIMixin
from pymeasure.instruments.validators import strict_discrete_set, strict_range

from drivers._analyser import SweptAnalyserMixin
from drivers._transport import disable_nagle

FREQUENCY_RANGE = (0.0, 13.6e9)  # Hz, FSV13
RBW_RANGE = (1.0, 10e6)  # Hz
VBW_RANGE = (1.0, 10e6)  # Hz
POINTS_RANGE = (101, 32001)
SWEEP_TIME_RANGE = (1e-6, 16000.0)  # s, zero span


class RohdeSchwarzFSVAnalyser(SweptAnalyserMixin, SCPIMixin, Instrument):
    """R&S FSV spectrum analyser: swept traces and zero-span power versus time.

    :param adapter: VISA resource name or pymeasure adapter.
    :param max_frequency: top of the model's range in Hz (13.6 GHz for the FSV13).
    :param kwargs: passed to pymeasure's VISA adapter (``read_termination``, ``timeout`` ...).
        The VISA timeout must exceed the longest sweep.
    """

    MODEL = "FSV"
    BINARY_SETUP = ("FORM REAL,32",)
    BIG_ENDIAN = False
    INITIATE_AND_WAIT = "INIT:IMM;*OPC?"
    TRACE_QUERY = "TRAC:DATA? TRACE1"
    RBW_RANGE = RBW_RANGE
    VBW_RANGE = VBW_RANGE
    POINTS_RANGE = POINTS_RANGE
    SWEEP_TIME_RANGE = SWEEP_TIME_RANGE
    MIN_SPAN = 10.0  # Hz; 0 is zero span

    centre_frequency = Instrument.control(
        "FREQ:CENT?", "FREQ:CENT %.12g", """Control the centre frequency in Hz (float).""",
        validator=strict_range, values=list(FREQUENCY_RANGE), dynamic=True,
    )
    span = Instrument.control(
        "FREQ:SPAN?", "FREQ:SPAN %.12g", """Control the span in Hz (float, 0 = zero span).""",
        validator=strict_range, values=list(FREQUENCY_RANGE), dynamic=True,
    )
    start_frequency = Instrument.measurement("FREQ:STAR?", """Get the sweep's start frequency in Hz (float).""")
    stop_frequency = Instrument.measurement("FREQ:STOP?", """Get the sweep's stop frequency in Hz (float).""")
    resolution_bandwidth = Instrument.control(
        "BAND?", "BAND %.9g", """Control the resolution bandwidth in Hz (float).""",
        validator=strict_range, values=list(RBW_RANGE),
    )
    video_bandwidth = Instrument.control(
        "BAND:VID?", "BAND:VID %.9g", """Control the video bandwidth in Hz (float).""",
        validator=strict_range, values=list(VBW_RANGE),
    )
    sweep_points = Instrument.control(
        "SWE:POIN?", "SWE:POIN %d", """Control the trace points (int).""",
        validator=strict_range, values=list(POINTS_RANGE), cast=int,
    )
    sweep_time = Instrument.control(
        "SWE:TIME?", "SWE:TIME %.9g", """Control the sweep time in s (float).""",
        validator=strict_range, values=list(SWEEP_TIME_RANGE),
    )
    continuous_sweep_enabled = Instrument.control(
        "INIT:CONT?", "INIT:CONT %s", """Control continuous (True) or single (False) sweeping.""",
        validator=strict_discrete_set, values={True: "ON", False: "OFF"}, map_values=True,
        get_process=lambda v: "ON" if str(v).strip() in ("1", "ON") else "OFF",
    )

    def __init__(self, adapter, name: str = "Rohde & Schwarz FSV", max_frequency: float = FREQUENCY_RANGE[1],
                 **kwargs):
        super().__init__(adapter, name, **kwargs)
        self.max_frequency = float(max_frequency)
        self.centre_frequency_values = [0.0, self.max_frequency]
        self.span_values = [0.0, self.max_frequency]
        disable_nagle(self)

    def shutdown(self) -> None:
        """An analyser has no output to switch off: leave it sweeping continuously for the front panel."""
        try:
            self.continuous_sweep_enabled = True
        finally:
            Instrument.shutdown(self)

    def close(self) -> None:
        self.adapter.close()
