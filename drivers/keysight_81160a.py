"""Keysight 81160A pulse/function/arbitrary generator as a :class:`hil.roles.PulseGenerator`.

Extends pymeasure's ``Keysight81160A`` with what a pulse protocol needs and
pymeasure lacks: selection of the volatile user waveform, a Gaussian-pulse
upload, single-shot bus-triggered output, and the bench's output settings.

Settled against references (cited per command in :data:`hil.instruments.KEYSIGHT_81160A`):

- the bench's settings go once, before the first upload, arm or output on
  (:meth:`configure`), each followed by the error queue and read back:
  ``*OPT?`` (read and kept; output 2 refused when it names option 001, one
  output), load [``load = 50`` or ``"high-z"``] (``:OUTP1:LOAD 50|INF``;
  limits are the 50 Ω ones × 2R/(R+50)), polarity [``polarity = "normal"`` or
  ``"inverted"``] (``:OUTP1:POL NORM|INV``), trigger slope [``trigger_slope =
  "positive"|"negative"|"either"``] (``:ARM:SLOP``) and, when the bench gives
  it, trigger level [``trigger_level`` V] (``:ARM:LEV``);
- the delay is the waveform's own leading points: no reference says whether
  ``:PULS:DEL`` delays USER waveforms, so it is sent as 0 with every upload;
- ``:FORM:BORD NORM`` goes before every binary ``:DATA1:DAC`` upload (a
  previous program may have left SWAP: byte-swapped waveform, no error);
- ``:TRIG1:COUN`` (pymeasure's hardware-tested form), not ``:TRIG:COUN1``;
- with polarity inverted the pulse plays at offset 0, so the output is
  exactly −V(t) whichever level the instrument inverts about;
- the error queue is read after each configuring step (InstrumentError on any entry).
"""

from __future__ import annotations

import numpy as np
from pymeasure.instruments import Instrument
from pymeasure.instruments.keysight.keysight81160A import Keysight81160A, Keysight81160AChannel
from pymeasure.instruments.validators import strict_range

from hil.drivers import _pulse
from hil.drivers._checks import ErrorChecked, check
from hil.drivers._transport import disable_nagle
from hil.errors import InstrumentError
from hil.instruments import KEYSIGHT_81160A as SPEC

# Ranges of the 81160A at the 50 Ω load setting (hil.instruments); the channel table and the
# pre-checks of a whole upload share them.
USER_FREQUENCY_RANGE = SPEC.rate  # Hz, user-waveform repetition rate
AMPLITUDE_RANGE = SPEC.amplitude  # Vpp
OFFSET_RANGE = SPEC.offset  # V
DELAY_RANGE = SPEC.delay  # s
MAX_LEVEL = SPEC.max_level  # V, |offset| + amplitude/2
#: User-waveform lengths the 81160A interpolates best (Keysight's download tool pads to these).
WAVEFORM_POINTS = (16384, 524288)


class Keysight81160APulseChannel(Keysight81160AChannel):
    """One output of the 81160A, with the controls a triggered arbitrary pulse uses.

    pymeasure's formats (``%f``) keep six decimals only; these keep the digits.
    """

    frequency_set_command = ":FREQ{ch} %.12g"
    frequency_values = list(USER_FREQUENCY_RANGE)
    amplitude_values = [AMPLITUDE_RANGE[0], 2 * AMPLITUDE_RANGE[1]]  # the upload checks the load's limits
    offset_values = [2 * OFFSET_RANGE[0], 2 * OFFSET_RANGE[1]]
    amplitude_set_command = ":VOLT{ch} %.9g"
    offset_set_command = ":VOLT{ch}:OFFS %.9g"
    output_get_command = ":OUTP{ch}?"
    output_set_command = ":OUTP{ch} %d"

    pulse_delay = Instrument.control(
        ":PULS:DEL{ch}?",
        ":PULS:DEL{ch} %.12g",
        """Control the pulse delay in s (float, 0 to 999 s). Documented for the pulse shape; the
        driver keeps it at 0 (see :data:`hil.instruments.KEYSIGHT_81160A` references).""",
        validator=strict_range,
        values=list(DELAY_RANGE),
    )

    user_waveform = Instrument.control(
        ":FUNC{ch}:USER?",
        ":FUNC{ch}:USER %s",
        """Control which user waveform the USER shape plays ('VOLATILE' or a stored name).""",
    )

    burst_count = Instrument.control(
        ":TRIG{ch}:COUN?",
        ":TRIG{ch}:COUN %d",
        """Control the waveform cycles played per trigger (int, 1 = single shot).""",
        validator=strict_range,
        values=[1, 2147483647],
        cast=int,
    )


class Keysight81160APulse(_pulse.GeneratorOutput, ErrorChecked, Keysight81160A):
    """Keysight 81160A playing one uploaded pulse per bus trigger (``*TRG``).

    :param adapter: VISA resource name or pymeasure adapter.
    :param channel: output used, 1 or 2.
    :param max_points: user-waveform memory in points (16384 standard, 524288 with the memory option).
    :param load: the output's load setting: ohms (50 for a 50 Ω coil) or ``"high-z"``; the role's
        volts are the volts across that load.
    :param polarity: ``"normal"`` (default) or ``"inverted"``: the output plays −V(t).
    :param trigger_slope: edge of the external input that arms a trigger: ``"positive"`` (default),
        ``"negative"`` or ``"either"``.
    :param trigger_level: threshold of the external input in V; not sent when None (default).
    :param sync_out: not driven on the 81160A (refused: its routing command is not settled).
    :param kwargs: passed to pymeasure's VISA adapter (``read_termination``, ``timeout`` ...).
    """

    MODEL = "81160A"
    SPEC = SPEC
    ERROR_QUERY = ":SYST:ERR?"

    ch_1 = Instrument.ChannelCreator(Keysight81160APulseChannel, 1)
    ch_2 = Instrument.ChannelCreator(Keysight81160APulseChannel, 2)

    #: 14-bit signed DAC: user-waveform points are integers in ±DAC_FULL_SCALE.
    DAC_FULL_SCALE = SPEC.dac_full_scale
    #: The DAC's fixed sample rate; an uploaded waveform is resampled to it.
    DAC_RATE = SPEC.dac_rate
    MIN_POINTS = SPEC.points[0]

    def __init__(self, adapter, name: str = "Keysight 81160A pulse generator", channel: int = 1,
                 max_points: int = 16384, load: float | str = 50.0, polarity: str = "normal",
                 trigger_slope: str = "positive", trigger_level: float | None = None,
                 sync_out: bool | None = None, **kwargs):
        if channel not in SPEC.channels:
            raise ValueError(f"the 81160A has outputs 1 and 2, not {channel!r}")
        self.settings = _pulse.output_settings(SPEC, load, polarity, trigger_slope, trigger_level, sync_out)
        super().__init__(adapter, name, **kwargs)
        self.output_channel = self.ch_1 if channel == 1 else self.ch_2
        self.max_points = int(max_points)
        #: Option codes of the last ``*OPT?`` (set by :meth:`check_options`).
        self.installed_options: set[str] | None = None
        disable_nagle(self)

    def check_options(self) -> None:
        """Read ``*OPT?`` and keep it; output 2 on a one-output 81160A (option 001) raises."""
        reply = self.ask("*OPT?")
        self.installed_options = _pulse.option_codes(reply)
        if self.output_channel.id == 2 and "001" in self.installed_options and "002" not in self.installed_options:
            raise InstrumentError(f"81160A: the bench uses output 2, but *OPT? ({reply.strip()}) lists option 001, "
                                  "the one-output model")

    # -- role: PulseGenerator -------------------------------------------------

    def set_gaussian_pulse(self, amplitude: float, width: float, delay: float) -> None:
        """Upload V(t) = amplitude·exp(−(t−delay)²/(2 width²)) as the volatile user waveform.

        The whole delay is in the waveform: 16384 points (Keysight's own download
        tool pads to 16 k or 512 k points because other lengths interpolate
        poorly) from the trigger to 5σ after the centre, the centre exactly on
        a point (:func:`hil.drivers._pulse.gaussian_in_waveform`), replayed at
        rate/16384 Hz. That must leave ≥ 4 points per σ, i.e. delay ≤ about
        4090σ; longer delays take 524288 points when ``max_points`` allows
        (about 131000σ). The DAC's fixed 2.5 GSa/s then needs σ ≥ 1.6 ns.
        """
        amplitude, width, delay = _pulse.pulse_args(amplitude, width, delay)
        _pulse.require_sampling(width, self.DAC_RATE, "81160A")
        sizes = [n for n in WAVEFORM_POINTS if n <= self.max_points] or [self.max_points]
        for points in sizes:
            layout, rate = _pulse.gaussian_in_waveform(width, delay, points)
            if rate * width >= _pulse.MIN_SAMPLES_PER_SIGMA:
                break
        else:
            longest = ((points - 1) / _pulse.MIN_SAMPLES_PER_SIGMA - _pulse.HALF_WIDTH_SIGMAS) * width
            more = "" if points >= WAVEFORM_POINTS[-1] else f"; max_points = {WAVEFORM_POINTS[-1]} (memory option) allows more"
            raise ValueError(
                f"delay {delay:.4g} s is {delay / width:.4g} σ: the 81160A plays the delay as the waveform's own "
                f"leading points, and {points} points then leave {rate * width:.2g} per σ (need ≥ "
                f"{_pulse.MIN_SAMPLES_PER_SIGMA:g}); the longest delay for σ = {width:.3g} s is {longest:.4g} s{more}"
            )
        self._upload(_pulse.gaussian_samples(amplitude, width, layout, rate), rate)

    def set_arbitrary_pulse(self, samples: np.ndarray, sample_rate: float) -> None:
        """Upload ``samples`` (V) played at ``sample_rate`` Sa/s from the trigger, as given.

        The 81160A replays the waveform at ``sample_rate / len(samples)`` Hz
        and resamples it to its 2.5 GSa/s DAC; 16384 or 524288 points
        interpolate best. A delay is the samples' own leading zeros.
        """
        array = _pulse.as_samples(samples, self.MIN_POINTS, self.max_points, "81160A")
        rate = float(sample_rate)
        if not 0 < rate <= self.DAC_RATE:
            raise ValueError(f"sample rate {rate:.4g} Sa/s is outside the 81160A's (0, {self.DAC_RATE:.3g}] Sa/s")
        self._upload(array, rate)

    def arm(self) -> None:
        """Triggered mode: one waveform per ``*TRG`` (arm source MANual, count 1)."""
        self._ensure_configured()
        ch = self.output_channel
        ch.trigger_mode = "MAN"
        ch.burst_count = 1
        self.check_step("arm")

    # -- sequence -------------------------------------------------------------

    def _upload(self, samples: np.ndarray, rate: float) -> None:
        """Check every value first, then send DAC points, selection, rate, levels, pulse delay 0."""
        ch = self.output_channel
        k = self.level_scale
        levels = _pulse.fit_levels(samples, AMPLITUDE_RANGE[0] * k, AMPLITUDE_RANGE[1] * k, MAX_LEVEL * k, "81160A",
                                   symmetric=self.settings.inverted)
        frequency = rate / samples.size
        check("waveform repetition rate", frequency, USER_FREQUENCY_RANGE, "Hz", "81160A")
        check("offset", levels.offset, (OFFSET_RANGE[0] * k, OFFSET_RANGE[1] * k), "V", "81160A")
        dac = np.rint(levels.normalised * self.DAC_FULL_SCALE).astype(np.int16)
        self._ensure_configured()
        self.write(":FORM:BORD NORM")  # the byte order of the block below, whatever a previous program left
        ch.write_binary_values(":DATA{ch}:DAC VOLATILE,", dac, datatype="h",
                               is_big_endian=True, termination="\n")
        ch.user_waveform = "VOLATILE"
        ch.shape = "USER"
        ch.frequency = frequency
        ch.offset = 0.0  # any amplitude up to 5 Vpp is legal at zero offset
        ch.amplitude = levels.amplitude
        ch.offset = levels.offset
        ch.pulse_delay = 0.0  # the delay is in the waveform; a delay left by a previous program must not add
        self.check_step("waveform upload")
