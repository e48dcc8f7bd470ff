"""The Keysight InfiniiVision 4000 X oscilloscope's SCPI, fronting any :class:`hil.roles.Digitizer`.

What the driver (``hil.drivers.keysight_infiniivision``) and stock scripts use:
channel range/offset/display, time base range/reference/position, edge
trigger set-up, real-time or segmented acquisition, ``:SINGle`` and the Run
bit of ``:OPERegister:CONDition?``, and waveform transfer (``:WAVeform:SOURce``,
``FORMat WORD|BYTE|ASCii``, ``BYTeorder``, ``UNSigned``, ``POINts:MODE``,
``SEGMented:ALL``, ``PREamble?``, ``DATA?`` as an IEEE 488.2 block), ``:AER?``.

Behaviour as on the instrument: the sample rate is the instrument's choice —
the highest rate (5 GSa/s, 2.5 GSa/s with 3 or 4 channels on, divided 1-2-4-5
…) whose record over the time base range fits the memory (4 Mpts, 2 Mpts with
3 or 4 on, shared by the segments). ``:SINGle`` configures and arms the twin
for that record (from the trigger; the part of the screen before the
trigger, if any, holds the first sample: the chip at rest); the Run bit stays
set until every segment has had its trigger, then the twin's capture is
fetched and held for transfer. Codes: WORD is signed 16 bits over the
channel's full range (yincrement = range/65536, yorigin = offset), BYTE 8 bits.
Ranges, identity and limits: :data:`hil.instruments.KEYSIGHT_INFINIIVISION`, the driver's too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hil.instruments import KEYSIGHT_INFINIIVISION as SPEC
from hil.roles import Digitizer
from hil.sim.scpi.dialect import Call, Dialect, choice, flag, format_number, method, number
from hil.sim.scpi.dialects._analyser import ieee_block
from hil.sim.scpi.errors import ScpiError

N_CHANNELS = SPEC.channels
REFERENCE = {"LEFT": 0.1, "CENT": 0.5, "RIGH": 0.9}  # fraction of the range before the reference point
SOURCES = tuple(f"CHANnel{n}" for n in range(1, N_CHANNELS + 1))


@dataclass
class ScopeChannel:
    display: bool
    range: float = 8.0  # V full scale
    offset: float = 0.0  # V


class KeysightInfiniiVisionDialect(Dialect, spec=SPEC):
    role = Digitizer

    COMMANDS = (
        flag(":CHANnel#:DISPlay", "display", scope="channel"),
        number(":CHANnel#:RANGe", "range", SPEC.channel_range, unit="V", scope="channel"),
        number(":CHANnel#:OFFSet", "offset", SPEC.offset, unit="V", scope="channel"),
        choice(":TIMebase:REFerence", "reference", ("LEFT", "CENTer", "RIGHt")),
        number(":TIMebase[:MAIN]:RANGe", "time_range", SPEC.time_range, unit="S"),
        number(":TIMebase[:MAIN]:POSition", "position", SPEC.time_position, unit="S"),
        choice(":ACQuire:MODE", "mode", ("RTIMe", "SEGMented")),
        number(":ACQuire:SEGMented:COUNt", "segments", (2, SPEC.max_segments), integer=True),
        method(":ACQuire:SRATe", "_srate", write=False),
        choice(":TRIGger:MODE", "trigger_mode", ("EDGE", "GLITch", "PATTern", "TV")),
        choice(":TRIGger[:EDGE]:SOURce", "trigger_source", ("EXTernal",) + SOURCES),
        choice(":TRIGger[:EDGE]:SLOPe", "slope", ("POSitive", "NEGative", "EITHer", "ALTernate")),
        number(":TRIGger[:EDGE]:LEVel", "level", SPEC.trigger_level, unit="V"),
        choice(":WAVeform:SOURce", "source", SOURCES),
        choice(":WAVeform:FORMat", "format", ("WORD", "BYTE", "ASCii")),
        choice(":WAVeform:BYTeorder", "byte_order", ("LSBFirst", "MSBFirst")),
        flag(":WAVeform:UNSigned", "unsigned"),
        choice(":WAVeform:POINts:MODE", "points_mode", ("NORMal", "MAXimum", "RAW")),
        flag(":WAVeform:SEGMented:ALL", "all_segments"),
        method(":WAVeform:PREamble", "_preamble", write=False),
        method(":WAVeform:DATA", "_data", write=False),
        method(":SINGle", "_single", query=False),
        method(":RUN", "_stop", query=False),
        method(":STOP", "_stop", query=False),
        method(":OPERegister:CONDition", "_condition", write=False),
        method(":AER", "_armed_event", write=False),
    )

    def reset(self) -> None:
        s = self.state
        s.reference, s.time_range, s.position = "CENT", 1e-3, 0.0
        s.mode, s.segments = "RTIM", 2
        s.trigger_mode, s.trigger_source, s.slope, s.level = "EDGE", "CHAN1", "POS", 0.0
        s.source, s.format, s.byte_order, s.unsigned, s.points_mode, s.all_segments = "CHAN1", "BYTE", "MSBF", True, "NORM", False
        self.channels = {n: ScopeChannel(display=(n == 1)) for n in range(1, N_CHANNELS + 1)}
        self.running = False
        self.capture: dict | None = None  # the last finished acquisition
        self.pending: dict | None = None  # the acquisition :SINGle armed
        self.armed_event = False

    # -- acquisition ------------------------------------------------------------

    def _on(self) -> list[int]:
        return [n for n, c in self.channels.items() if c.display]

    def sample_rate(self) -> float:
        """The highest rate, 5 GSa/s divided by 1, 2, 4, 5, 10, 20 …, whose record fits the memory."""
        n_on = len(self._on())
        top, memory = SPEC.limits(n_on)
        segments = self.state.segments if self.state.mode == "SEGM" else 1
        per_segment = memory // segments
        decade = 1
        while True:
            for k in (1, 2, 4, 5):
                rate = top / (k * decade)
                if rate * self.state.time_range <= per_segment + 1e-6:
                    return rate
            decade *= 10

    def _srate(self, call: Call) -> str:
        call.count(0)
        return format_number(self.sample_rate())

    def _single(self, call: Call) -> None:
        call.count(0)
        s, chans = self.state, self._on()
        if not chans:
            raise ScpiError(-221, "no channel is on")
        if s.trigger_mode != "EDGE" or s.trigger_source != "EXT":
            raise ScpiError(-221, "the twin is triggered by the AWG: edge trigger on EXTernal")
        first = self.channels[chans[0]]
        if any((self.channels[n].range, self.channels[n].offset) != (first.range, first.offset) for n in chans):
            raise ScpiError(-221, "the twin digitizer takes one range and offset for all channels")
        rate = self.sample_rate()
        points = max(1, int(round(s.time_range * rate)))
        start = s.position - REFERENCE[s.reference] * s.time_range  # time of the first sample after the trigger
        skip = int(round(start * rate))  # < 0: samples before the trigger
        segments = s.segments if s.mode == "SEGM" else 1
        twin_points = max(1, points + skip) if skip < 0 else points + skip
        self.call_twin(self.twin.configure, chans, rate, twin_points, segments, first.range, first.offset)
        self.call_twin(self.twin.arm)
        self.pending = dict(chans=chans, rate=rate, points=points, skip=skip, start=skip / rate,
                            segments=segments, range=first.range, offset=first.offset)
        self.running, self.capture, self.armed_event = True, None, True

    def _stop(self, call: Call) -> None:
        call.count(0)
        self.running = False

    def _armed_event(self, call: Call) -> str:
        """1 once after :SINGle has armed the trigger (reading clears it)."""
        call.count(0)
        armed, self.armed_event = self.armed_event, False
        return "1" if armed else "0"

    def _condition(self, call: Call) -> str:
        call.count(0)
        if self.running:
            ready = getattr(self.twin, "ready", None)
            if ready is None or self.call_twin(ready):
                self._finish()
        return str(SPEC.run_bit) if self.running else "0"

    def _finish(self) -> None:
        p = self.pending
        _, volts = self.call_twin(self.twin.fetch)
        volts = np.asarray(volts, dtype=np.float64)
        if p["skip"] < 0:  # before the trigger: the chip at rest, as the first sample shows it
            lead = np.repeat(volts[:, :, :1], -p["skip"], axis=2)
            volts = np.concatenate([lead, volts], axis=2)[:, :, :p["points"]]
        else:
            volts = volts[:, :, p["skip"]:p["skip"] + p["points"]]
        if volts.shape != (p["segments"], len(p["chans"]), p["points"]):
            raise ScpiError(-240, f"twin returned {volts.shape}")
        self.capture = dict(p, volts=volts)
        self.running = False

    # -- transfer ---------------------------------------------------------------

    def _selected(self) -> tuple[dict, np.ndarray]:
        if self.capture is None:
            raise ScpiError(-230, "no acquisition to read (:SINGle, then wait for the Run bit to clear)")
        n = int(self.state.source[4:])
        if n not in self.capture["chans"]:
            raise ScpiError(-222, f"channel {n} was off during the acquisition")
        volts = self.capture["volts"][:, self.capture["chans"].index(n)]
        if not (self.state.mode == "SEGM" and self.state.all_segments):
            volts = volts[-1:]  # the segment shown: the last one acquired
        return self.capture, volts

    def _scale(self) -> tuple[float, float]:
        c = self.capture
        return c["range"] / (65536 if self.state.format == "WORD" else 256), c["offset"]

    def _preamble(self, call: Call) -> str:
        call.count(0)
        c, _ = self._selected()
        yinc, yorig = self._scale()
        code = {"BYTE": 0, "WORD": 1, "ASC": 4}[self.state.format]
        fields = (code, 0, c["points"], 1, 1.0 / c["rate"], c["start"], 0, yinc, yorig, 0)
        return ",".join(format_number(v) for v in fields)

    def _data(self, call: Call) -> bytes:
        call.count(0)
        _, volts = self._selected()
        flat = volts.reshape(-1)
        if self.state.format == "ASC":
            return ieee_block(",".join(f"{v:+.6E}" for v in flat).encode("ascii"))
        yinc, yorig = self._scale()
        word = self.state.format == "WORD"
        top = 32767 if word else 127
        codes = np.clip(np.round((flat - yorig) / yinc), -top - 1, top)
        if self.state.unsigned:
            codes = codes + top + 1
        kind = ("u" if self.state.unsigned else "i") + ("2" if word else "1")
        order = "<" if self.state.byte_order == "LSBF" else ">"
        return ieee_block(codes.astype(order + kind).tobytes())

