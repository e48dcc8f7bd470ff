"""What both generator drivers share: the Gaussian's time window and samples, the mapping of
volts onto a generator's normalised waveform and its amplitude/offset, the bench's output
and trigger settings (load, polarity, trigger slope/level, sync out), and sending those
settings once, each read back and followed by the error queue.

Every check raises ValueError before a command is built, so a refused pulse
or setting sends nothing. Units: V, s, Sa/s, Ω. The commands and the words
each setting takes come from the model's spec (:mod:`hil.instruments.generators`),
where they are cited.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
from pymeasure.instruments import Instrument

from hil.drivers._checks import check
from hil.errors import InstrumentError
from hil.instruments.generators import BENCH_WORDS, GeneratorSpec, level_scale, load_ohms, short_form


#: The Gaussian is cut at ±5σ: exp(−12.5) ≈ 4e-6 of the peak, below one step of a 14/16-bit DAC.
HALF_WIDTH_SIGMAS = 5.0
#: Fewer samples per σ than this and the pulse's shape and area depend on where the samples fall.
MIN_SAMPLES_PER_SIGMA = 4.0


@dataclass(frozen=True)
class Layout:
    """Where a sampled Gaussian sits in time: sample i leaves the output at
    ``instrument_delay + i / sample_rate`` after the trigger, and sample
    ``centre_index`` is the pulse centre exactly."""

    points: int
    centre_index: int
    instrument_delay: float  # s, the generator's own trigger-to-output delay


def _finite(name: str, value: float, unit: str) -> float:
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} = {value} {unit} is not a finite number")
    return value


def pulse_args(amplitude: float, width: float, delay: float) -> tuple[float, float, float]:
    """Validate a Gaussian's parameters at the boundary: finite, width > 0, delay ≥ 0."""
    amplitude = _finite("amplitude", amplitude, "V")
    width = _finite("width", width, "s")
    delay = _finite("delay", delay, "s")
    if width <= 0:
        raise ValueError(f"pulse width (Gaussian sigma) must be > 0 s, got {width} s")
    if delay < 0:
        raise ValueError(f"pulse delay must be ≥ 0 s (time from the trigger to the centre), got {delay} s")
    return amplitude, width, delay


def gaussian_layout(width: float, delay: float, sample_rate: float, points: int | None = None) -> Layout:
    """Place ±5σ of samples around the centre, the centre on a sample, nothing before the trigger.

    The lead before the centre is 5σ, or less when the delay is shorter (the
    role's V(t) starts at the trigger, so the leading tail is then cut); the
    generator's trigger delay supplies the rest of ``delay``, so a long delay
    costs no points. ``points`` fixes the length (the tail then takes what the
    lead leaves); by default the tail is 5σ too.
    """
    tolerance = 1e-9  # samples: 5σ·rate computed as 8192.000000001 is 8192
    half = math.ceil(HALF_WIDTH_SIGMAS * width * sample_rate - tolerance)
    centre = min(half, math.floor(delay * sample_rate + tolerance))
    total = centre + half + 1 if points is None else points
    if total <= centre:
        raise ValueError(f"{total} points cannot hold a pulse whose centre is sample {centre}")
    return Layout(points=total, centre_index=centre, instrument_delay=max(delay - centre / sample_rate, 0.0))


def gaussian_in_waveform(width: float, delay: float, points: int) -> tuple[Layout, float]:
    """Place the whole delay in the waveform: ``points`` samples from the trigger on, the centre
    exactly on sample ``c`` at ``delay``, at least 5σ of tail after it, no instrument delay.

    The rate is ``c / delay`` with ``c = ⌊delay·(points−1)/(delay+5σ)⌋``, so the
    tail ``(points−1−c)/rate`` is ≥ 5σ. A delay under one sample period
    (``(delay+5σ)/(points−1)``) plays as 0. Returns the layout and the rate (Sa/s).
    """
    span = delay + HALF_WIDTH_SIGMAS * width
    centre = math.floor(delay * (points - 1) / span + 1e-9)
    rate = centre / delay if centre > 0 else (points - 1) / span
    return Layout(points=points, centre_index=centre, instrument_delay=0.0), rate


def gaussian_samples(amplitude: float, width: float, layout: Layout, sample_rate: float) -> np.ndarray:
    """V = amplitude·exp(−(t−centre)²/(2 width²)) at the layout's sample times."""
    offsets = (np.arange(layout.points) - layout.centre_index) / sample_rate
    return amplitude * np.exp(-0.5 * (offsets / width) ** 2)


def require_sampling(width: float, sample_rate: float, model: str) -> None:
    """Refuse a pulse too narrow for the generator's fastest sampling."""
    if width * sample_rate < MIN_SAMPLES_PER_SIGMA:
        shortest = MIN_SAMPLES_PER_SIGMA / sample_rate
        raise ValueError(
            f"a Gaussian of sigma {width:.3g} s is too narrow for the {model}: at most "
            f"{sample_rate:.3g} Sa/s gives {width * sample_rate:.2g} samples per sigma "
            f"(need ≥ {MIN_SAMPLES_PER_SIGMA:g}); the shortest sigma it can play is {shortest:.3g} s"
        )


def as_samples(samples, min_points: int, max_points: int, model: str) -> np.ndarray:
    """Arbitrary samples (V) → finite 1-D float64 array of a length the generator can hold."""
    array = np.asarray(samples, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"samples must be 1-D, got shape {array.shape}")
    if not min_points <= array.size <= max_points:
        raise ValueError(f"the {model} plays {min_points} to {max_points} points, got {array.size}")
    if not np.all(np.isfinite(array)):
        raise ValueError("samples contain NaN or infinity")
    return array


@dataclass(frozen=True)
class Levels:
    """A waveform expressed the way a generator plays it: output = offset + amplitude/2 · normalised."""

    amplitude: float  # V peak-to-peak of the full DAC scale
    offset: float  # V
    normalised: np.ndarray  # in [−1, 1]


def fit_levels(samples: np.ndarray, min_vpp: float, max_vpp: float, max_level: float, model: str,
               symmetric: bool = False) -> Levels:
    """Map volts onto the full DAC scale, exactly (nothing clipped).

    The span always includes 0 V so the idle level of a pulse is representable.
    A span below the generator's minimum amplitude is played at the minimum
    amplitude with proportionally smaller normalised values: the output
    voltages are still the requested ones, only the DAC resolution drops.
    ``symmetric`` plays the waveform at offset 0 (amplitude 2·max|V|): the
    choice for an inverted output, which is then exactly −V(t) whether the
    instrument inverts about 0 V or about its offset.
    """
    low = min(float(samples.min()), 0.0)
    high = max(float(samples.max()), 0.0)
    if symmetric:
        low, high = -max(-low, high), max(-low, high)
    note = " (polarity inverted: played at offset 0, so ±max|V|)" if symmetric else ""
    if high > max_level or low < -max_level:
        raise ValueError(
            f"pulse spans {low:.4g} V to {high:.4g} V{note}; the {model} reaches ±{max_level:g} V "
            "at its load setting"
        )
    span = high - low
    if span > max_vpp:
        raise ValueError(f"pulse spans {span:.4g} V peak-to-peak{note}; the {model} plays at most {max_vpp:g} Vpp")
    amplitude = max(span, min_vpp)
    offset = 0.5 * (high + low)
    normalised = (samples - offset) / (0.5 * amplitude)
    # The extremes map to ±1 up to float round-off (1 + 2e-16); the clip removes only that.
    return Levels(amplitude=amplitude, offset=offset, normalised=np.clip(normalised, -1.0, 1.0))


@dataclass(frozen=True)
class OutputSettings:
    """The bench's output and trigger settings of one generator output, checked against its spec.

    ``polarity`` and ``trigger_slope`` are the manuals' words (``NORMal``),
    ``load`` is ohms (``math.inf`` for High-Z), ``trigger_level`` volts or
    None (not sent), ``sync_out`` True/False or None (not sent).
    """

    load: float
    polarity: str
    trigger_slope: str
    trigger_level: float | None
    sync_out: bool | None

    @property
    def inverted(self) -> bool:
        return self.polarity == "INVerted"


def _bench_word(option: str, value, allowed: tuple[str, ...], model: str) -> str:
    names = [bench for bench, word in BENCH_WORDS.items() if word in allowed]
    word = BENCH_WORDS.get(str(value).strip().lower()) if isinstance(value, str) else None
    if word not in allowed:
        raise ValueError(f"{option} {value!r}: the {model} takes {' or '.join(repr(n) for n in names)}")
    return word


def output_settings(spec: GeneratorSpec, load: float | str = 50.0, polarity: str = "normal",
                    trigger_slope: str = "positive", trigger_level: float | None = None,
                    sync_out: bool | None = None) -> OutputSettings:
    """Check the bench's settings against ``spec``; ValueError names the option and what the model takes."""
    ohms = load_ohms(load)
    if not math.isinf(ohms):
        check("load setting", ohms, spec.load, "Ω", spec.model)
    word = _bench_word("polarity", polarity, spec.polarities, spec.model)
    slope = _bench_word("trigger_slope", trigger_slope, spec.trigger_slopes, spec.model)
    if trigger_level is not None:
        if "trigger_level" not in spec.commands:
            raise ValueError(f"trigger_level: not settable on the {spec.model} — {spec.not_driven['trigger_level']}")
        try:
            if isinstance(trigger_level, (bool, str)):
                raise TypeError
            trigger_level = _finite("trigger_level", trigger_level, "V")
        except (TypeError, ValueError) as error:
            raise ValueError(f"trigger_level {trigger_level!r}: give volts (a finite number)") from error
        if spec.trigger_level is not None:
            check("trigger level", trigger_level, spec.trigger_level, "V", spec.model)
    if sync_out is not None:
        if "sync" not in spec.commands:
            raise ValueError(f"sync_out: not driven on the {spec.model} — {spec.not_driven['sync_out']}")
        if not isinstance(sync_out, bool):
            raise ValueError(f"sync_out {sync_out!r}: give true or false")
    return OutputSettings(load=ohms, polarity=word, trigger_slope=slope, trigger_level=trigger_level,
                          sync_out=sync_out)


def option_codes(reply: str) -> set[str]:
    """``*OPT?`` reply → its option codes, upper case (``"MEM","IQP"`` → {MEM, IQP}; ``Opt. 002`` → {002});
    the IEEE 488.2 reply for none, ``0``, gives the empty set."""
    codes = set()
    for token in reply.split(","):
        code = re.sub(r"^(OPT\.?\s*|\d{5}[A-Z]-)", "", token.strip().strip('"').strip().upper())
        if code and code != "0":
            codes.add(code)
    return codes


class GeneratorOutput:
    """What both generator drivers share, mixed in before ErrorChecked and the pymeasure base:
    the bench's output settings sent once (:meth:`configure`), and the role methods
    trigger/output on/off/shutdown/close.

    Needs ``SPEC`` (the model's :class:`GeneratorSpec`), ``settings``
    (:class:`OutputSettings`), ``output_channel`` (the channel the pulse plays
    on), ``write``, ``ask``, ``check_step`` and ``adapter``.
    """

    SPEC: GeneratorSpec
    settings: OutputSettings
    _configured = False

    @property
    def load(self) -> float:
        """The load setting in Ω (``math.inf`` for High-Z)."""
        return self.settings.load

    @property
    def level_scale(self) -> float:
        """Voltage limits at this load setting relative to the 50 Ω ones."""
        return level_scale(self.settings.load)

    # -- the bench's settings, sent once ----------------------------------------

    def configure(self) -> None:
        """Send the bench's settings, each followed by the error queue and then read back: options
        (:meth:`check_options`), load, polarity, trigger slope, trigger level and sync out
        (the last two only when the bench gives them). Runs before the first upload, arm or
        output on; call it again after anything else changed the instrument."""
        self.check_options()
        self._set_load()
        self._set_word("polarity", self.settings.polarity)
        self._set_word("trigger_slope", self.settings.trigger_slope)
        if self.settings.trigger_level is not None:
            self._set_trigger_level(self.settings.trigger_level)
        if self.settings.sync_out is not None:
            self._set_sync(self.settings.sync_out)
        self._configured = True

    def _ensure_configured(self) -> None:
        if not self._configured:
            self.configure()

    def check_options(self) -> None:
        """Check ``*OPT?`` against what the bench claims; the models override this."""

    def _header(self, setting: str) -> str:
        return self.SPEC.commands[setting].format(ch=self.output_channel.id)

    def _refuse(self, what: str, reply: str, sent: str, consequence: str) -> None:
        raise InstrumentError(f"{self.SPEC.model} output {self.output_channel.id}: {what} reads {reply!r} after "
                              f"setting {sent}; {consequence}")

    def _set_load(self) -> None:
        """``<LOAD> 50`` or ``INF``, read back (9.9E+37 is INF); a mismatch raises."""
        header, load = self._header("load"), self.settings.load
        sent = "INF" if math.isinf(load) else f"{load:g}"
        self.write(f"{header} {sent}")
        self.check_step(f"load setting {sent} Ω")
        reply = self.ask(f"{header}?").strip()
        value = float(reply)
        read = math.inf if value >= 9.9e37 else value
        if not (read == load or math.isclose(read, load, rel_tol=1e-6)):
            self._refuse("load setting", reply, f"{sent} Ω", "pulses would be off by 2R/(R+50)")

    def _set_word(self, setting: str, word: str) -> None:
        """A word setting (``NORM``), read back in short or long form; a mismatch raises.

        The error queue is read before the read-back: a header the instrument does not know
        gives -113 there, where its query would give no reply at all (IEEE 488.2 §6.1.6)."""
        header, sent = self._header(setting), short_form(word)
        name = setting.replace("_", " ")
        self.write(f"{header} {sent}")
        self.check_step(f"{name} {sent}")
        reply = self.ask(f"{header}?").strip().strip('"').upper()
        if reply not in (sent, word.upper()):
            self._refuse(name, reply, sent, f"the {name} the bench asks for is {word}")

    def _set_trigger_level(self, volts: float) -> None:
        """Trigger threshold in V, read back within 5 mV (the instrument may round to its resolution)."""
        header = self._header("trigger_level")
        self.write(f"{header} {volts:.9g}")
        self.check_step(f"trigger level {volts:g} V")  # the instrument's own range check
        reply = self.ask(f"{header}?").strip()
        if not math.isclose(float(reply), volts, rel_tol=1e-3, abs_tol=5e-3):
            self._refuse("trigger level", reply, f"{volts:g} V", "the instrument clipped or refused it")

    def _set_sync(self, on: bool) -> None:
        """Sync out on/off; when on, routed to this output where the model has two (``*IDN?``)."""
        if on and "sync_source" in self.SPEC.commands:
            model = (self.ask("*IDN?").split(",") + ["", ""])[1].strip().upper()
            if self.output_channel.id == 2 or model in self.SPEC.two_channel_models:
                header, sent = self.SPEC.commands["sync_source"], f"CH{self.output_channel.id}"
                self.write(f"{header} {sent}")
                self.check_step(f"sync source {sent}")
                reply = self.ask(f"{header}?").strip().strip('"').upper()
                if reply != sent:
                    self._refuse("sync source", reply, sent, "the sync would mark the other output")
        header, sent = self.SPEC.commands["sync"], "ON" if on else "OFF"
        self.write(f"{header} {sent}")
        self.check_step(f"sync out {sent}")
        reply = self.ask(f"{header}?").strip().upper()
        if reply not in (("1", "ON") if on else ("0", "OFF")):
            self._refuse("sync out", reply, sent, "the bench asks for it " + sent.lower())

    # -- role methods ---------------------------------------------------------------

    def trigger(self) -> None:
        """Fire the armed pulse now (bus trigger)."""
        self.write("*TRG")

    def output_on(self) -> None:
        self._ensure_configured()
        self.output_channel.output = True

    def output_off(self) -> None:
        self.output_channel.output = False

    def shutdown(self) -> None:
        """Output off; the instrument stays as set otherwise."""
        self.output_off()
        Instrument.shutdown(self)  # the bare base: the vendor classes' own shutdown sends more

    def close(self) -> None:
        self.adapter.close()
