"""Keysight 33500B-series waveform generator (33509B … 33522B) as a :class:`hil.roles.PulseGenerator`.

Extends pymeasure's ``Agilent33500`` with a binary float upload
(``DATA:ARB`` with an IEEE 488.2 block), the per-channel trigger source and
delay, and single-shot bus-triggered bursts.

Settled against references (cited in :data:`hil.instruments.KEYSIGHT_33500B`):

- the bench's settings go once, before the first upload, arm or output on
  (:meth:`configure`), each followed by the error queue and read back:
  ``*OPT?`` when ``max_points`` claims option MEM; load [``load = 50`` or
  ``"high-z"``] (``OUTP1:LOAD``; limits scaled by 2R/(R+50)); polarity
  [``polarity = "normal"|"inverted"``] (``OUTP1:POL NORM|INV``); trigger
  slope [``trigger_slope = "positive"|"negative"``] (``TRIG1:SLOP``, the
  rear Trig In edge); and, when the bench gives it, sync out [``sync_out =
  true|false``] (``OUTP:SYNC ON|OFF``, routed with ``OUTP:SYNC:SOUR CH1|CH2``
  on two-output models). ``trigger_level`` is refused: the 33500B has no
  remote trigger-level command;
- ``FORM:BORD SWAP`` goes before every binary upload; the arbitrary-waveform
  filter is set (``FUNC:ARB:FILT OFF`` by default: the power-on NORMal filter
  smooths a sharp pulse);
- with polarity inverted the pulse plays at offset 0, so the output is
  exactly −V(t) (the 33500B inverts about its offset);
- the error queue is read after each configuring step.
"""

from __future__ import annotations

import numpy as np
from pymeasure.instruments import Instrument
from pymeasure.instruments.agilent.agilent33500 import Agilent33500, Agilent33500Channel
from pymeasure.instruments.validators import strict_discrete_set, strict_range

from hil.drivers import _pulse
from hil.drivers._checks import ErrorChecked, check
from hil.drivers._transport import disable_nagle
from hil.errors import InstrumentError
from hil.instruments import KEYSIGHT_33500B as SPEC

# Ranges of the 33500B series at the 50 Ω load setting (hil.instruments).
SAMPLE_RATE_RANGE = SPEC.rate  # Sa/s; the 20 MHz models stop at 160 MSa/s
AMPLITUDE_RANGE = SPEC.amplitude  # Vpp
OFFSET_RANGE = SPEC.offset  # V
DELAY_RANGE = SPEC.delay  # s, trigger delay
MAX_LEVEL = SPEC.max_level  # V, |offset| + amplitude/2
#: Samples per sigma a Gaussian gets when the sample rate allows it.
GAUSSIAN_SAMPLES_PER_SIGMA = 20.0


class Keysight33500BPulseChannel(Agilent33500Channel):
    """One output of the 33500B, with the controls a triggered arbitrary pulse uses."""

    amplitude_set_command = "SOUR{ch}:VOLT %.9g"
    amplitude_values = [AMPLITUDE_RANGE[0], 2 * AMPLITUDE_RANGE[1]]  # the upload checks the load's limits
    offset_set_command = "SOUR{ch}:VOLT:OFFS %.9g"
    offset_values = [2 * OFFSET_RANGE[0], 2 * OFFSET_RANGE[1]]

    arb_srate = Instrument.control(
        "SOUR{ch}:FUNC:ARB:SRAT?",
        "SOUR{ch}:FUNC:ARB:SRAT %.12g",
        """Control the arbitrary waveform's sample rate in Sa/s (float).""",
        validator=strict_range,
        values=list(SAMPLE_RATE_RANGE),
    )

    trigger_source = Instrument.control(
        "TRIG{ch}:SOUR?",
        "TRIG{ch}:SOUR %s",
        """Control this channel's trigger source (str: 'IMM', 'EXT', 'TIM' or 'BUS').""",
        validator=strict_discrete_set,
        values=["IMM", "EXT", "TIM", "BUS"],
    )

    trigger_delay = Instrument.control(
        "TRIG{ch}:DEL?",
        "TRIG{ch}:DEL %.12g",
        """Control the delay from the trigger to the burst start in s (float, 0 to 1000 s).""",
        validator=strict_range,
        values=list(DELAY_RANGE),
    )


class Keysight33500BPulse(_pulse.GeneratorOutput, ErrorChecked, Agilent33500):
    """Keysight 33500B playing one uploaded pulse per bus trigger (``*TRG``).

    :param adapter: VISA resource name or pymeasure adapter.
    :param channel: output used, 1 or 2 (2 on two-channel models only).
    :param max_sample_rate: 250e6 Sa/s (30 MHz models) or 160e6 (20 MHz models).
    :param max_points: arbitrary-waveform memory in points (1 M standard, 16 M with option MEM).
    :param load: the output's load setting: ohms (50 for a 50 Ω coil) or ``"high-z"``.
    :param arb_filter: ``"OFF"`` (point to point, default), ``"STEP"`` or ``"NORM"`` (smoothed).
    :param polarity: ``"normal"`` (default) or ``"inverted"``: the output plays −V(t).
    :param trigger_slope: edge of the rear Trig In for external triggers: ``"positive"`` (default) or
        ``"negative"``.
    :param trigger_level: refused: the 33500B has no remote trigger-level command.
    :param sync_out: front-panel Sync on (True) or off (False), routed to this output; not sent when None.
    :param kwargs: passed to pymeasure's VISA adapter (``read_termination``, ``timeout`` ...).
    """

    MODEL = "33500B"
    SPEC = SPEC

    ch_1 = Instrument.ChannelCreator(Keysight33500BPulseChannel, 1)
    ch_2 = Instrument.ChannelCreator(Keysight33500BPulseChannel, 2)

    byte_order = Instrument.control(
        "FORM:BORD?",
        "FORM:BORD %s",
        """Control the byte order of binary blocks (str: 'NORM' big-endian or 'SWAP' little-endian).""",
        validator=strict_discrete_set,
        values=["NORM", "SWAP"],
    )

    #: Name of the volatile waveform this driver uploads (letter first, ≤ 12 characters).
    ARB_NAME = "HILPULSE"
    MIN_POINTS = 8

    def __init__(self, adapter, name: str = "Keysight 33500B waveform generator", channel: int = 1,
                 max_sample_rate: float = 250e6, max_points: int = 1_000_000, load: float | str = 50.0,
                 arb_filter: str = "OFF", polarity: str = "normal", trigger_slope: str = "positive",
                 trigger_level: float | None = None, sync_out: bool | None = None, **kwargs):
        if channel not in SPEC.channels:
            raise ValueError(f"the 33500B has outputs 1 and 2, not {channel!r}")
        check("max_sample_rate", max_sample_rate, SAMPLE_RATE_RANGE, "Sa/s", "33500B family")
        if str(arb_filter).upper() not in ("OFF", "STEP", "NORM"):
            raise ValueError(f"arb_filter {arb_filter!r}: one of 'OFF', 'STEP', 'NORM'")
        self.settings = _pulse.output_settings(SPEC, load, polarity, trigger_slope, trigger_level, sync_out)
        super().__init__(adapter, name, **kwargs)
        self.output_channel = self.ch_1 if channel == 1 else self.ch_2
        self.max_sample_rate = float(max_sample_rate)
        self.max_points = int(max_points)
        self.arb_filter_setting = str(arb_filter).upper()
        disable_nagle(self)

    def check_options(self) -> None:
        """A bench claiming more than the standard memory (``max_points`` > 1 M) needs option MEM in ``*OPT?``."""
        if self.max_points > SPEC.points[1]:
            reply = self.ask("*OPT?")
            options = _pulse.option_codes(reply)
            if "MEM" not in options:
                raise InstrumentError(f"33500B: the bench says max_points = {self.max_points}, but option MEM "
                                      f"(16 MSa) is not installed (*OPT?: {reply.strip()}); "
                                      f"the standard memory holds {SPEC.points[1]} points")

    # -- role: PulseGenerator -------------------------------------------------

    def set_gaussian_pulse(self, amplitude: float, width: float, delay: float) -> None:
        """Upload V(t) = amplitude·exp(−(t−delay)²/(2 width²)) as an arbitrary waveform.

        Sampling: 20 samples per σ (sample rate 20/σ) when that is within the
        maximum sample rate, else the maximum rate, which must still give ≥ 4
        samples per σ (σ ≥ 16 ns at 250 MSa/s). The waveform spans ±5σ around
        the centre (about 201 points), the centre on a sample; up to 5σ of lead
        sits in the waveform and the rest of ``delay`` goes to the trigger
        delay, so a long delay costs no points.
        """
        amplitude, width, delay = _pulse.pulse_args(amplitude, width, delay)
        _pulse.require_sampling(width, self.max_sample_rate, "33500B")
        rate = min(self.max_sample_rate, GAUSSIAN_SAMPLES_PER_SIGMA / width)
        layout = _pulse.gaussian_layout(width, delay, rate)
        if layout.points < self.MIN_POINTS:
            layout = _pulse.gaussian_layout(width, delay, rate, self.MIN_POINTS)
        self._upload(_pulse.gaussian_samples(amplitude, width, layout, rate), rate, layout.instrument_delay)

    def set_arbitrary_pulse(self, samples: np.ndarray, sample_rate: float) -> None:
        """Upload ``samples`` (V) played at ``sample_rate`` Sa/s from the trigger, as given."""
        array = _pulse.as_samples(samples, self.MIN_POINTS, self.max_points, "33500B")
        self._upload(array, float(sample_rate), 0.0)

    def arm(self) -> None:
        """Burst mode, one cycle per trigger, trigger from the bus (``*TRG``)."""
        self._ensure_configured()
        ch = self.output_channel
        ch.burst_mode = "TRIG"
        ch.burst_ncycles = 1
        ch.trigger_source = "BUS"
        ch.burst_state = True
        self.check_step("arm")

    # -- sequence -------------------------------------------------------------

    def _upload(self, samples: np.ndarray, rate: float, delay: float) -> None:
        """Check every value first, then send points (float32, little-endian), selection, rate, levels, delay."""
        ch = self.output_channel
        check("sample rate", rate, (SAMPLE_RATE_RANGE[0], self.max_sample_rate), "Sa/s", "33500B")
        check("trigger delay", delay, DELAY_RANGE, "s", "33500B")
        k = self.level_scale
        levels = _pulse.fit_levels(samples, AMPLITUDE_RANGE[0] * k, AMPLITUDE_RANGE[1] * k, MAX_LEVEL * k, "33500B",
                                   symmetric=self.settings.inverted)
        check("offset", levels.offset, (OFFSET_RANGE[0] * k, OFFSET_RANGE[1] * k), "V", "33500B")
        self._ensure_configured()
        self.byte_order = "SWAP"  # the byte order of the block below, sent before every upload
        ch.data_volatile_clear()  # a name already in volatile memory cannot be reloaded
        ch.write_binary_values(f"SOUR{{ch}}:DATA:ARB {self.ARB_NAME},", levels.normalised.astype(np.float32),
                               datatype="f", is_big_endian=False, termination="\n")
        ch.arb_file = self.ARB_NAME
        ch.shape = "ARB"
        ch.arb_filter = self.arb_filter_setting
        ch.arb_srate = rate
        ch.offset = 0.0  # any amplitude up to 10 Vpp is legal at zero offset
        ch.amplitude = levels.amplitude
        ch.offset = levels.offset
        ch.trigger_delay = delay
        self.check_step("waveform upload")
