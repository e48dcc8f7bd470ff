"""Keysight InfiniiVision 4000 X (DSOX/MSOX4000A) oscilloscopes as a :class:`hil.roles.Digitizer`.

pymeasure has a driver for the InfiniiVision 1000 X only (``KeysightDSOX1102G``,
two channels, no segmented memory), so this is a new class in its style: a
control table, then the role's short sequences. Units: V, s, Sa/s.

Where each command group was checked (the commands, not code, are used here):

- time base, channel range/offset/display, ``:ACQuire:MODE RTIMe|SEGMented``,
  ``:WAVeform:SOURce``/``FORMat``/``POINts:MODE``/``PREamble?``/``DATA?``:
  pymeasure ``pymeasure/instruments/keysight/keysightDSOX1102G.py`` (a hardware-
  tested InfiniiVision driver, same command tree) and the Keysight
  *InfiniiVision 3000/4000/6000 X-Series Programmer's Guide*;
- ``:ACQuire:SEGMented:COUNt``, ``:WAVeform:SEGMented:ALL ON`` (every segment
  in one ``:WAVeform:DATA?`` block): the programmer's guide and several public
  lab scripts that use them on 3000T/4000X scopes;
- ``:SINGle``, then ``:AER?`` (Arm Event Register) until 1 before the AWG may
  fire (the "single-shot DUT" pattern of the programmer's guide), then polling
  ``:OPERegister:CONDition?`` until the Run bit
  (bit 3, value 8) clears: Keysight's own InfiniiVision-X synchronisation
  example ("method 2", Keysight sample application, 2015); ``:DIGitize`` is not
  used because it blocks the parser until the acquisition ends, and the
  scope must be armed before the AWG fires;
- ``:WAVeform:BYTeorder LSBFirst``, ``:WAVeform:UNSigned 0``,
  ``:TRIGger:EDGE:SOURce EXTernal``/``SLOPe``/``LEVel``: programmer's guide.

The instrument picks its own sample rate from the time base and its memory
(``:ACQuire:SRATe?`` reports it), so :meth:`configure` sets the record length
(``samples / sample_rate``) as the time base range and :meth:`fetch` returns
the instrument's own time axis from the preamble: a protocol resamples where
it needs another grid. Time base reference LEFT with the position at one
division (a tenth of the range) puts the trigger at the left edge of the record.

Ranges are the 4000 X's, written once in :data:`hil.instruments.KEYSIGHT_INFINIIVISION`
(shared with the SCPI dialect, with the references): 4 analog channels, 5 GSa/s
(2.5 GSa/s with 3 or 4 channels on), 4 Mpts (2 Mpts per channel with 3 or 4
on), up to 1000 segments, 200 ps/div to 50 s/div, 1 mV/div to 5 V/div (8
divisions) into 1 MΩ. Out of range raises ValueError and nothing is sent.
"""

from __future__ import annotations

import time

import numpy as np
from pymeasure.instruments import Channel, Instrument, SCPIMixin
from pymeasure.instruments.validators import strict_discrete_set, strict_range

from hil.drivers import _block
from hil.drivers._checks import check
from hil.drivers._transport import disable_nagle
from hil.errors import InstrumentError
from hil.instruments import KEYSIGHT_INFINIIVISION as SPEC

N_CHANNELS = SPEC.channels
TIME_RANGE = SPEC.time_range  # s, full scale (10 divisions)
CHANNEL_RANGE = SPEC.channel_range  # V, full scale (8 divisions), 1 MΩ
OFFSET_RANGE = SPEC.offset  # V (the instrument narrows it on sensitive ranges and says so in its error queue)
MAX_SEGMENTS = SPEC.max_segments
MEMORY = SPEC.memory  # points, one or two channels on (half with three or four)
MAX_RATE = SPEC.max_rate  # Sa/s, one or two channels on (half with three or four)
RUN_BIT = SPEC.run_bit  # Operation Status Condition register: acquisition running


def _preamble(reply: str) -> dict[str, float]:
    keys = ("format", "type", "points", "count", "xincrement", "xorigin", "xreference",
            "yincrement", "yorigin", "yreference")
    values = [float(v) for v in reply.strip().split(",")]
    if len(values) != len(keys):
        raise InstrumentError(f"InfiniiVision preamble has {len(values)} fields, expected 10: {reply[:80]!r}")
    return dict(zip(keys, values))


class InfiniiVisionChannel(Channel):
    """One analog input: vertical range and offset, shown or not (only shown channels are acquired)."""

    range = Channel.control(
        ":CHANnel{ch}:RANGe?", ":CHANnel{ch}:RANGe %.6g",
        """Control the full-scale vertical range in V (float, 8 mV to 40 V, 1 MΩ).""",
        validator=strict_range, values=list(CHANNEL_RANGE),
    )
    offset = Channel.control(
        ":CHANnel{ch}:OFFSet?", ":CHANnel{ch}:OFFSet %.6g",
        """Control the voltage at the centre of the screen in V (float).""",
        validator=strict_range, values=list(OFFSET_RANGE),
    )
    display = Channel.control(
        ":CHANnel{ch}:DISPlay?", ":CHANnel{ch}:DISPlay %d",
        """Control whether the channel is on (bool); only channels on are acquired.""",
        validator=strict_discrete_set, values={True: 1, False: 0}, map_values=True,
    )


class KeysightInfiniiVisionDigitizer(SCPIMixin, Instrument):
    """InfiniiVision 4000 X oscilloscope: external trigger, segmented memory, WORD transfers.

    :param adapter: VISA resource name or pymeasure adapter.
    :param trigger_level: external trigger threshold in V (the AWG's sync output; TTL-like → 1 V).
    :param fetch_timeout: seconds :meth:`fetch` waits for the acquisition to end before it raises.
    :param kwargs: passed to pymeasure's VISA adapter (``read_termination``, ``timeout`` ...).
    """

    MODEL = "InfiniiVision 4000 X"

    channels = Instrument.MultiChannelCreator(InfiniiVisionChannel, list(range(1, N_CHANNELS + 1)), prefix="ch_")

    timebase_reference = Instrument.control(
        ":TIMebase:REFerence?", ":TIMebase:REFerence %s",
        """Control where the trigger reference sits on screen ('LEFT', 'CENTer', 'RIGHt').""",
        validator=strict_discrete_set, values=["LEFT", "CENTer", "RIGHt"],
    )
    timebase_position = Instrument.control(
        ":TIMebase:POSition?", ":TIMebase:POSition %.10g",
        """Control the time from the trigger to the reference point in s (float).""",
        validator=strict_range, values=list(SPEC.time_position),
    )
    timebase_range = Instrument.control(
        ":TIMebase:RANGe?", ":TIMebase:RANGe %.10g",
        """Control the full-scale horizontal time in s (float, 2 ns to 500 s).""",
        validator=strict_range, values=list(TIME_RANGE),
    )
    acquisition_mode = Instrument.control(
        ":ACQuire:MODE?", ":ACQuire:MODE %s",
        """Control real-time ('RTIMe') or segmented ('SEGMented') acquisition.""",
        validator=strict_discrete_set, values=["RTIMe", "SEGMented"],
    )
    segment_count = Instrument.control(
        ":ACQuire:SEGMented:COUNt?", ":ACQuire:SEGMented:COUNt %d",
        """Control the number of segments of a segmented acquisition (int, 2 to 1000).""",
        validator=strict_range, values=[2, MAX_SEGMENTS], cast=int,
    )
    sample_rate = Instrument.measurement(":ACQuire:SRATe?", """Get the sample rate the instrument chose in Sa/s (float).""")
    trigger_mode = Instrument.control(
        ":TRIGger:MODE?", ":TRIGger:MODE %s", """Control the trigger type (only 'EDGE' here).""",
        validator=strict_discrete_set, values=["EDGE"],
    )
    trigger_source = Instrument.control(
        ":TRIGger:EDGE:SOURce?", ":TRIGger:EDGE:SOURce %s",
        """Control the edge trigger's source ('EXTernal' or 'CHANnel1'..'CHANnel4').""",
        validator=strict_discrete_set, values=["EXTernal"] + [f"CHANnel{n}" for n in range(1, N_CHANNELS + 1)],
    )
    trigger_slope = Instrument.control(
        ":TRIGger:EDGE:SLOPe?", ":TRIGger:EDGE:SLOPe %s", """Control the edge ('POSitive' or 'NEGative').""",
        validator=strict_discrete_set, values=["POSitive", "NEGative"],
    )
    trigger_level = Instrument.control(
        ":TRIGger:EDGE:LEVel?", ":TRIGger:EDGE:LEVel %.6g", """Control the trigger threshold in V (float, ±8 V on EXT).""",
        validator=strict_range, values=list(SPEC.trigger_level),
    )
    waveform_source = Instrument.control(
        ":WAVeform:SOURce?", ":WAVeform:SOURce %s", """Control the channel :WAVeform:DATA? reads.""",
        validator=strict_discrete_set, values=[f"CHANnel{n}" for n in range(1, N_CHANNELS + 1)],
    )
    waveform_format = Instrument.control(
        ":WAVeform:FORMat?", ":WAVeform:FORMat %s", """Control the transfer format ('WORD', 'BYTE', 'ASCii').""",
        validator=strict_discrete_set, values=["WORD", "BYTE", "ASCii"],
    )
    waveform_byte_order = Instrument.control(
        ":WAVeform:BYTeorder?", ":WAVeform:BYTeorder %s", """Control the WORD byte order ('LSBFirst', 'MSBFirst').""",
        validator=strict_discrete_set, values=["LSBFirst", "MSBFirst"],
    )
    waveform_unsigned = Instrument.control(
        ":WAVeform:UNSigned?", ":WAVeform:UNSigned %d", """Control unsigned (True) or signed (False) codes.""",
        validator=strict_discrete_set, values={True: 1, False: 0}, map_values=True,
    )
    waveform_points_mode = Instrument.control(
        ":WAVeform:POINts:MODE?", ":WAVeform:POINts:MODE %s", """Control which record is read ('RAW': all acquired points).""",
        validator=strict_discrete_set, values=["NORMal", "MAXimum", "RAW"],
    )
    waveform_segmented_all = Instrument.control(
        ":WAVeform:SEGMented:ALL?", ":WAVeform:SEGMented:ALL %d",
        """Control whether :WAVeform:DATA? returns every segment in one block (bool).""",
        validator=strict_discrete_set, values={True: 1, False: 0}, map_values=True,
    )
    armed_event = Instrument.measurement(
        ":AER?", """Get whether the trigger has been armed since the last read (bool; the read clears it).""",
        cast=int, get_process=bool,
    )
    operation_condition = Instrument.measurement(
        ":OPERegister:CONDition?", """Get the Operation Status Condition register (int; bit 3 = running).""", cast=int,
    )

    def __init__(self, adapter, name: str = "Keysight InfiniiVision 4000 X oscilloscope",
                 trigger_level: float = 1.0, fetch_timeout: float = 10.0, **kwargs):
        super().__init__(adapter, name, **kwargs)
        self.trigger_threshold, self.fetch_timeout = float(trigger_level), float(fetch_timeout)
        self._setup: tuple | None = None
        self._sent: tuple | None = None
        disable_nagle(self)

    # -- the role ---------------------------------------------------------------

    def configure(self, channels, sample_rate: float, samples: int, segments: int,
                  full_range: float, offset: float = 0.0) -> None:
        """Channels on and scaled, external edge trigger, time base for ``samples / sample_rate`` s
        from the trigger, ``segments`` segments, WORD transfers. Checked before anything is sent;
        an identical set-up to the last one sends nothing."""
        chans = [int(c) for c in channels]
        bad = [c for c in chans if not 1 <= c <= N_CHANNELS]
        if bad or not chans or len(set(chans)) != len(chans):
            raise ValueError(f"channels {chans}: the {self.MODEL} has analog channels 1..{N_CHANNELS}, each once")
        sample_rate, full_range, offset = float(sample_rate), float(full_range), float(offset)
        samples, segments = int(samples), int(segments)
        rate_max, memory = SPEC.limits(len(chans))
        check("sample rate", sample_rate, (1.0, rate_max), "Sa/s", self.MODEL)
        check("segments", segments, (1, MAX_SEGMENTS), "", self.MODEL)
        check("record", samples * segments, (1, memory), "points", self.MODEL)
        record = samples / sample_rate
        check("record length", record, TIME_RANGE, "s", self.MODEL)
        check("vertical range", full_range, CHANNEL_RANGE, "V", self.MODEL)
        check("vertical offset", offset, OFFSET_RANGE, "V", self.MODEL)
        setup = (tuple(chans), sample_rate, samples, segments, full_range, offset)
        self._setup = setup
        if setup == self._sent:
            return
        self._sent = None  # a failure half-way leaves the instrument in an unknown set-up
        for n in range(1, N_CHANNELS + 1):
            ch = getattr(self, f"ch_{n}")
            ch.display = n in chans
            if n in chans:
                ch.range = full_range
                ch.offset = offset
        self.timebase_reference = "LEFT"
        self.timebase_range = record
        self.timebase_position = record / 10  # the reference is one division in: the record starts at the trigger
        self.trigger_mode = "EDGE"
        self.trigger_source = "EXTernal"
        self.trigger_slope = "POSitive"
        self.trigger_level = self.trigger_threshold
        if segments > 1:
            self.acquisition_mode = "SEGMented"
            self.segment_count = segments
        else:
            self.acquisition_mode = "RTIMe"
        self.waveform_format = "WORD"
        self.waveform_byte_order = "LSBFirst"
        self.waveform_unsigned = False
        self.waveform_points_mode = "RAW"
        self._sent = setup

    def arm(self) -> None:
        """Start a single (segmented) acquisition and return once the scope is armed (``:AER?``
        answers 1), so a trigger sent right after is caught; it ends after ``segments`` triggers."""
        if self._setup is None:
            raise InstrumentError(f"{self.MODEL}: arm before configure — set channels, rate and segments first")
        self.write(":SINGle")
        deadline = time.monotonic() + self.fetch_timeout
        while not self.armed_event:
            if time.monotonic() > deadline:
                raise InstrumentError(f"{self.MODEL}: not armed {self.fetch_timeout:g} s after :SINGle")
            time.sleep(0.001)

    def fetch(self) -> tuple[np.ndarray, np.ndarray]:
        """Wait for the Run bit to clear, then read every channel (all segments in one block each).

        Returns (time s from each segment's trigger, (samples,); volts (segments, channels, samples)).
        """
        if self._setup is None:
            raise InstrumentError(f"{self.MODEL}: fetch without a configured acquisition")
        chans, _, _, segments, _, _ = self._setup
        deadline = time.monotonic() + self.fetch_timeout
        while self.operation_condition & RUN_BIT:
            if time.monotonic() >= deadline:
                raise InstrumentError(
                    f"{self.MODEL}: acquisition still running after {self.fetch_timeout:g} s — not all "
                    f"{segments} triggers arrived; is the AWG's sync output wired to EXT TRIG?")
            time.sleep(0.001)
        out, t = [], None
        for n in chans:
            self.waveform_source = f"CHANnel{n}"
            if segments > 1:
                self.waveform_segmented_all = True
            pre = _preamble(self.ask(":WAVeform:PREamble?"))
            self.write(":WAVeform:DATA?")
            codes = np.frombuffer(_block.read_block(self), dtype="<i2").astype(np.float64)
            points = int(pre["points"])
            if codes.size != points * segments:
                raise InstrumentError(f"{self.MODEL}: channel {n} sent {codes.size} points, expected "
                                      f"{segments} segments × {points}")
            out.append(((codes - pre["yreference"]) * pre["yincrement"] + pre["yorigin"]).reshape(segments, points))
            if t is None:
                t = (np.arange(points) - pre["xreference"]) * pre["xincrement"] + pre["xorigin"]
        return t, np.stack(out, axis=1)

    def shutdown(self) -> None:
        """An oscilloscope has no output to switch off; nothing is sent."""
        Instrument.shutdown(self)

    def close(self) -> None:
        self.adapter.close()
