"""Keysight 81160A pulse/function/arbitrary generator as a :class:`hil.roles.PulseGenerator`.

Extends pymeasure's ``Keysight81160A`` with what a pulse protocol needs and
pymeasure lacks: the channel delay (``:PULS:DEL``), selection of the volatile
user waveform, a Gaussian-pulse upload and single-shot bus-triggered output.

Settled against references (cited per command in :data:`hil.instruments.KEYSIGHT_81160A`):

- the load setting comes from the bench (``load = 50`` or ``"high-z"``), is
  sent (``:OUTP1:LOAD 50`` / ``INF``) and read back before the first upload;
  voltage limits are the 50 Ω ones × 2R/(R+50);
- ``:FORM:BORD NORM`` goes before every binary ``:DATA1:DAC`` upload (a
  previous program may have left SWAP: byte-swapped waveform, no error);
- ``:TRIG1:COUN`` (pymeasure's hardware-tested form), not ``:TRIG:COUN1``;
- the error queue is read after each configuring step (InstrumentError on any entry).
"""

from __future__ import annotations

import numpy as np
from pymeasure.instruments import Instrument
from pymeasure.instruments.keysight.keysight81160A import Keysight81160A, Keysight81160AChannel
from pymeasure.instruments.validators import strict_range

import math

from hil.drivers import _pulse
from hil.drivers._checks import ErrorChecked, check
from hil.drivers._transport import disable_nagle
from hil.errors import InstrumentError
from hil.instruments import KEYSIGHT_81160A as SPEC
from hil.instruments.generators import level_scale, load_ohms

# Ranges of the 81160A at the 50 Ω load setting (hil.instruments); the channel table and the
# pre-checks of a whole upload share them.
USER_FREQUENCY_RANGE = SPEC.rate  # Hz, user-waveform repetition rate
AMPLITUDE_RANGE = SPEC.amplitude  # Vpp
OFFSET_RANGE = SPEC.offset  # V
DELAY_RANGE = SPEC.delay  # s
MAX_LEVEL = SPEC.max_level  # V, |offset| + amplitude/2


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
        """Control the delay from the trigger to the output in s (float, 0 to 999 s).
        Applies to every waveform shape, user waveforms included.""",
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
    :param kwargs: passed to pymeasure's VISA adapter (``read_termination``, ``timeout`` ...).
    """

    MODEL = "81160A"
    ERROR_QUERY = ":SYST:ERR?"

    ch_1 = Instrument.ChannelCreator(Keysight81160APulseChannel, 1)
    ch_2 = Instrument.ChannelCreator(Keysight81160APulseChannel, 2)

    #: 14-bit signed DAC: user-waveform points are integers in ±DAC_FULL_SCALE.
    DAC_FULL_SCALE = 8191
    #: The DAC's fixed sample rate; an uploaded waveform is resampled to it.
    DAC_RATE = 2.5e9
    #: Points of an uploaded Gaussian (see :meth:`set_gaussian_pulse`).
    GAUSSIAN_POINTS = 16384
    MIN_POINTS = 2

    def __init__(self, adapter, name: str = "Keysight 81160A pulse generator", channel: int = 1,
                 max_points: int = 16384, load: float | str = 50.0, **kwargs):
        if channel not in (1, 2):
            raise ValueError(f"the 81160A has outputs 1 and 2, not {channel!r}")
        self.load = load_ohms(load)
        if not math.isinf(self.load):
            check("load setting", self.load, SPEC.load, "Ω", "81160A")
        super().__init__(adapter, name, **kwargs)
        self.output_channel = self.ch_1 if channel == 1 else self.ch_2
        self.max_points = int(max_points)
        self._load_confirmed = False
        disable_nagle(self)

    @property
    def level_scale(self) -> float:
        """Voltage limits at this load setting relative to the 50 Ω ones."""
        return level_scale(self.load)

    def set_load(self) -> None:
        """Send the load setting (``:OUTP1:LOAD 50`` or ``INF``) and read it back; a mismatch raises."""
        ch = self.output_channel.id
        self.write(f":OUTP{ch}:LOAD {'INF' if math.isinf(self.load) else f'{self.load:g}'}")
        reply = float(self.ask(f":OUTP{ch}:LOAD?"))
        read = math.inf if reply >= 9.9e37 else reply
        if not (read == self.load or math.isclose(read, self.load, rel_tol=1e-6)):
            raise InstrumentError(f"81160A output {ch}: load setting reads {reply:g} Ω after setting "
                                  f"{self.load:g} Ω; pulses would be off by 2R/(R+50)")
        self.check_step(f"load setting {self.load:g} Ω")
        self._load_confirmed = True

    # -- role: PulseGenerator -------------------------------------------------

    def set_gaussian_pulse(self, amplitude: float, width: float, delay: float) -> None:
        """Upload V(t) = amplitude·exp(−(t−delay)²/(2 width²)) as the volatile user waveform.

        Sampling: 16384 points (the standard memory; Keysight's own download
        tool always pads to 16 k or 512 k points because other lengths are
        interpolated poorly) over 10σ, i.e. 1638.4 points per σ, replayed at
        1/(10σ) Hz; the centre falls on a point. The DAC's fixed 2.5 GSa/s
        then gives 2.5e9·σ samples per σ, so σ must be ≥ 1.6 ns (≥ 4 per σ).
        Up to 5σ of lead sits in the waveform; the rest of ``delay`` goes to
        the channel delay, so a long delay costs no points.
        """
        amplitude, width, delay = _pulse.pulse_args(amplitude, width, delay)
        _pulse.require_sampling(width, self.DAC_RATE, "81160A")
        points = self.GAUSSIAN_POINTS
        rate = points / (2 * _pulse.HALF_WIDTH_SIGMAS * width)
        layout = _pulse.gaussian_layout(width, delay, rate, points)
        self._upload(_pulse.gaussian_samples(amplitude, width, layout, rate), rate, layout.instrument_delay)

    def set_arbitrary_pulse(self, samples: np.ndarray, sample_rate: float) -> None:
        """Upload ``samples`` (V) played at ``sample_rate`` Sa/s from the trigger, as given.

        The 81160A replays the waveform at ``sample_rate / len(samples)`` Hz
        and resamples it to its 2.5 GSa/s DAC; 16384 or 524288 points
        interpolate best.
        """
        array = _pulse.as_samples(samples, self.MIN_POINTS, self.max_points, "81160A")
        rate = float(sample_rate)
        if not 0 < rate <= self.DAC_RATE:
            raise ValueError(f"sample rate {rate:.4g} Sa/s is outside the 81160A's (0, {self.DAC_RATE:.3g}] Sa/s")
        self._upload(array, rate, 0.0)

    def arm(self) -> None:
        """Triggered mode: one waveform per ``*TRG`` (arm source MANual, count 1)."""
        ch = self.output_channel
        ch.trigger_mode = "MAN"
        ch.burst_count = 1
        self.check_step("arm")

    # -- sequence -------------------------------------------------------------

    def _upload(self, samples: np.ndarray, rate: float, delay: float) -> None:
        """Check every value first, then send DAC points, selection, rate, levels, delay."""
        ch = self.output_channel
        k = self.level_scale
        levels = _pulse.fit_levels(samples, AMPLITUDE_RANGE[0] * k, AMPLITUDE_RANGE[1] * k, MAX_LEVEL * k, "81160A")
        frequency = rate / samples.size
        check("waveform repetition rate", frequency, USER_FREQUENCY_RANGE, "Hz", "81160A")
        check("offset", levels.offset, (OFFSET_RANGE[0] * k, OFFSET_RANGE[1] * k), "V", "81160A")
        check("channel delay", delay, DELAY_RANGE, "s", "81160A")
        dac = np.rint(levels.normalised * self.DAC_FULL_SCALE).astype(np.int16)
        if not self._load_confirmed:
            self.set_load()
        self.write(":FORM:BORD NORM")  # the byte order of the block below, whatever a previous program left
        ch.write_binary_values(":DATA{ch}:DAC VOLATILE,", dac, datatype="h",
                               is_big_endian=True, termination="\n")
        ch.user_waveform = "VOLATILE"
        ch.shape = "USER"
        ch.frequency = frequency
        ch.offset = 0.0  # any amplitude up to 5 Vpp is legal at zero offset
        ch.amplitude = levels.amplitude
        ch.offset = levels.offset
        ch.pulse_delay = delay
        self.check_step("waveform upload")
