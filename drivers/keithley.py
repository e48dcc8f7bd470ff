"""Keithley 6221 and 2400 as :class:`hil.roles.BiasSource`: a DC bias current with a voltage compliance.

Both extend pymeasure's drivers, with one change of substance: a value out
of the instrument's range raises ValueError and nothing is sent. (pymeasure's
6221 uses ``truncated_range``, which would silently source a different
current than asked; a bias current is never quietly changed.) Setpoints are
sent with ten significant digits, not ``%g``'s six.

Settled against references (cited in :mod:`hil.instruments.sources`):

- 6221: ``*RST`` leaves source auto-range off on the 2 mA range, so before the
  first setpoint the driver sets the range once — ``:SOUR:CURR:RANG <A>`` from
  the bench's ``current_range``, or ``:SOUR:CURR:RANG:AUTO ON`` when none is given;
  :meth:`Keithley6221Bias.compliance_tripped` reads bit B3 (Comp) of the
  measurement condition register (``:STAT:MEAS:COND?``); Delta mode (6221 with
  the 2182A on its RS-232 port) is the ``delta_*`` methods: ``:SOUR:DELT:*``,
  ``:INIT:IMM``, ``:SOUR:SWE:ABOR`` and the buffer (``:TRAC:POIN``, ``:TRAC:DATA?``);
- 2400: configured once (source function, source range, sense function(s),
  sense range, NPLC, 2- or 4-wire sense), then every reading is ``:READ?`` —
  not ``:MEAS:VOLT?``, which re-applies the function's defaults each time;
  ``source = "current"`` (default: the role) or ``"voltage"`` (source V, current
  compliance, measure I); :meth:`Keithley2400Bias.compliance_tripped` asks
  ``:SENS:VOLT:PROT:TRIP?`` (current source) or ``:SENS:CURR:PROT:TRIP?`` (voltage source);
- both read the error queue after each configuring step (InstrumentError).

Safety: the bench's limits are the guard's (:class:`hil.guards.BiasSourceGuard`),
checked before a call reaches these drivers — for the role's methods and for
the voltage-source and Delta methods alike.
"""

from __future__ import annotations

import math
import time

import numpy as np
from pymeasure.instruments import Instrument
from pymeasure.instruments.keithley import Keithley2400, Keithley6221
from pymeasure.instruments.validators import strict_range

from hil.drivers._checks import ErrorChecked, check
from hil.drivers._transport import disable_nagle
from hil.instruments import KEITHLEY_2400, KEITHLEY_6221, fixed_range

K6221_CURRENT_RANGE = KEITHLEY_6221.current  # A
K6221_COMPLIANCE_RANGE = KEITHLEY_6221.compliance  # V
K2400_CURRENT_RANGE = KEITHLEY_2400.current  # A
K2400_COMPLIANCE_RANGE = KEITHLEY_2400.compliance  # V
K2400_VOLTAGE_RANGE = KEITHLEY_2400.voltage  # V
K2400_CURRENT_COMPLIANCE_RANGE = KEITHLEY_2400.current_compliance  # A
#: What SCPI instruments send for "no number" (the 2400: 9.91E+37; the 6221: overflow +9.9E37).
NOT_A_NUMBER = 9.91e37
OVERFLOW = 9.9e37


def _current(value: float, bounds: tuple[float, float], model: str) -> float:
    value = float(value)
    check("bias current", value, bounds, "A", model)
    return value


def _positive(name: str, value, top: float, unit: str, model: str) -> float:
    """A range option: a number in (0, top]; else ValueError naming it."""
    value = float(value)
    if not 0 < value <= top:
        raise ValueError(f"{name} {value:.6g} {unit} is outside the {model}'s range (0, {top:g}] {unit}")
    return value


def _number(reply: str) -> float:
    value = float(reply)
    return math.nan if abs(value) >= OVERFLOW else value


class _BiasOutput:
    """The role methods both sources share, mixed in before the pymeasure class.

    Needs ``source_current``, ``source_enabled`` and ``adapter``.
    """

    def get_current(self) -> float:
        return float(self.source_current)

    def output_on(self) -> None:
        self.source_enabled = True

    def output_off(self) -> None:
        self.source_enabled = False

    def _zero_output(self) -> None:
        """Bring the source level to 0 (the first step of :meth:`shutdown`)."""
        self.source_current = 0.0

    def shutdown(self) -> None:
        """Source level to 0, then output off (attempted even if the first step fails).

        Replaces pymeasure's shutdown (the 2400's reads the mode back and ramps for 0.6 s).
        """
        try:
            self._zero_output()
        finally:
            self.output_off()
            Instrument.shutdown(self)

    def close(self) -> None:
        self.adapter.close()


class Keithley6221Bias(_BiasOutput, ErrorChecked, Keithley6221):
    """Keithley 6221 current source; the voltage is read from a 2182A nanovoltmeter behind it.

    The 6221 has no voltmeter. :meth:`measure_voltage` asks a Keithley 2182A
    wired to the 6221's RS-232 port (the standard 6221 + 2182A pairing)
    through the 6221's serial pass-through, so only the 6221 needs a VISA
    connection. The same pairing runs Delta mode (:meth:`delta_configure`,
    :meth:`delta_start`, :meth:`delta_read`, :meth:`delta_abort`): the 6221
    alternates between two currents and the 2182A's readings, three A/D
    conversions per reading, cancel thermal EMFs; the readings fill the 6221's buffer.

    :param adapter: VISA resource name or pymeasure adapter.
    :param voltmeter_timeout: seconds to wait for the 2182A's reading (and for Delta to arm).
    :param current_range: fixed source range in A (the smallest of the 6221's ranges that holds it
        is used, and setpoints beyond it are refused); None (default): source auto range.
    :param voltmeter_nplc: the 2182A's integration time in power-line cycles (0.01 to 60; default 1).
    :param voltmeter_range: the 2182A's fixed range in V (0.01, 0.1, 1, 10, 100); None: auto range.
    :param kwargs: passed to pymeasure's VISA adapter.
    """

    MODEL = "6221"

    source_current = Instrument.control(
        ":SOUR:CURR?", ":SOUR:CURR %.10g",
        """Control the source current in A (float, strictly −0.105 to 0.105 A; never clamped).""",
        validator=strict_range, values=list(K6221_CURRENT_RANGE),
    )
    source_compliance = Instrument.control(
        ":SOUR:CURR:COMP?", ":SOUR:CURR:COMP %.6g",
        """Control the voltage compliance in V (float, strictly 0.1 to 105 V).""",
        validator=strict_range, values=list(K6221_COMPLIANCE_RANGE),
    )

    #: What the 2182A is asked, through ``:SYST:COMM:SER:SEND``, for one fresh reading.
    VOLTMETER_QUERY = ":SENS:DATA:FRES?"

    def __init__(self, adapter, name: str = "Keithley 6221 bias source", voltmeter_timeout: float = 2.0,
                 current_range: float | None = None, voltmeter_nplc: float = 1.0,
                 voltmeter_range: float | None = None, **kwargs):
        if current_range is not None:
            check("current range", float(current_range), (0.0, K6221_CURRENT_RANGE[1]), "A", "6221")
        check("2182A NPLC", float(voltmeter_nplc), KEITHLEY_6221.voltmeter_nplc, "PLC", "2182A")
        if voltmeter_range is not None:
            check("2182A range", float(voltmeter_range), KEITHLEY_6221.voltmeter_range, "V", "2182A")
        self.voltmeter_nplc = float(voltmeter_nplc)
        self.voltmeter_range = None if voltmeter_range is None else float(voltmeter_range)
        self._voltmeter_set = False
        self._delta: tuple[float, float, float, int] | None = None  # (high A, low A, delay s, count) configured
        self._delta_running = False
        super().__init__(adapter, name, **kwargs)
        self.voltmeter_timeout = float(voltmeter_timeout)
        self.current_range = None if current_range is None else float(current_range)
        self._range_set = False
        disable_nagle(self)

    def set_range(self) -> None:
        """The source range, once: fixed (``:SOUR:CURR:RANG``) or auto (``:SOUR:CURR:RANG:AUTO ON``)."""
        if self.current_range is None:
            self.write(":SOUR:CURR:RANG:AUTO ON")
        else:
            self.write(f":SOUR:CURR:RANG {self.current_range:.6g}")
        self.check_step("source range")
        self._range_set = True

    def set_current(self, current: float) -> None:
        """Source ``current`` A; outside ±0.105 A (or the fixed range) raises ValueError and nothing is sent."""
        current = _current(current, K6221_CURRENT_RANGE, "6221")
        if self.current_range is not None:
            check("bias current", abs(current), (0.0, self.current_range * KEITHLEY_6221.overrange), "A",
                  "6221 on its fixed range")
        if not self._range_set:
            self.set_range()
        self.source_current = current
        self.check_step(f"source current {current:g} A")

    def set_compliance_voltage(self, voltage: float) -> None:
        voltage = float(voltage)
        check("compliance voltage", voltage, K6221_COMPLIANCE_RANGE, "V", "6221")
        self.source_compliance = voltage
        self.check_step(f"compliance {voltage:g} V")

    def compliance_tripped(self) -> bool:
        """Whether the source is in compliance now: bit B3 (Comp) of the measurement condition
        register, ``:STAT:MEAS:COND?`` (the condition register follows the state; the event register
        ``:STAT:MEAS?`` latches it — see :meth:`compliance_since_last_read`)."""
        return bool(int(float(self.ask(":STAT:MEAS:COND?"))) & KEITHLEY_6221.compliance_bit)

    def compliance_since_last_read(self) -> bool:
        """Whether the source went into compliance since the event register was last read
        (``:STAT:MEAS?``, bit B3; reading clears every latched measurement event)."""
        return bool(int(float(self.ask(":STAT:MEAS?"))) & KEITHLEY_6221.compliance_bit)

    # -- the 2182A, through the serial pass-through ----------------------------

    def configure_voltmeter(self) -> None:
        """Once, through the serial pass-through: the 2182A measures DC volts at ``voltmeter_nplc``
        on ``voltmeter_range`` (or auto range); then its own error queue is read (relayed), and the
        6221's. (Keithley 2182A User's Manual, SENSe subsystem: ``:SENS:FUNC``, ``:SENS:VOLT:NPLC``,
        ``:SENS:VOLT:RANG``.)"""
        commands = [":SENS:FUNC 'VOLT'", f":SENS:VOLT:NPLC {self.voltmeter_nplc:g}",
                    ":SENS:VOLT:RANG:AUTO ON" if self.voltmeter_range is None
                    else f":SENS:VOLT:RANG {self.voltmeter_range:g}"]
        for command in commands:
            self.write(f':SYST:COMM:SER:SEND "{command}"')
        entry = self._voltmeter_ask(":SYST:ERR?")
        if not entry.startswith(("0,", "+0,")):
            from hil.errors import InstrumentError

            raise InstrumentError(f"2182A refused its set-up: {entry} (commands sent: {', '.join(commands)})")
        self.check_step("2182A set-up")
        self._voltmeter_set = True

    def _voltmeter_ask(self, query: str) -> str:
        """``query`` to the 2182A through the 6221; polls ``:SYST:COMM:SER:ENT?`` until it answers."""
        self.write(f':SYST:COMM:SER:SEND "{query}"')
        deadline = time.monotonic() + self.voltmeter_timeout
        while True:
            reply = self.ask(":SYST:COMM:SER:ENT?").strip()
            if reply:
                return reply
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"no reply from the 2182A within {self.voltmeter_timeout} s; check the RS-232 "
                    "cable between the 6221 and the 2182A and the 2182A's baud rate"
                )
            time.sleep(0.01)

    def measure_voltage(self) -> float:
        """One fresh 2182A reading in V, relayed by the 6221 (polls until it arrives)."""
        if self._delta_running:
            from hil.errors import InstrumentError

            raise InstrumentError("6221: the 2182A is running Delta; delta_read() its readings or "
                                  "delta_abort() before a DC reading")
        if not self._voltmeter_set:
            self.configure_voltmeter()
        return float(self._voltmeter_ask(self.VOLTMETER_QUERY).split(",")[0])

    # -- Delta mode -----------------------------------------------------------

    def delta_configure(self, high_current_a: float, low_current_a: float | None = None, delay_s: float = 2e-3,
                        count: int = 100, compliance_abort: bool = True) -> None:
        """Set Delta mode up: the 6221 alternates between ``high_current_a`` (A, 0 to 0.105) and
        ``low_current_a`` (A, −0.105 to 0; default −high), waits ``delay_s`` (s) after each change
        before the 2182A converts, and stores ``count`` readings (1 to 65536) in its buffer;
        ``compliance_abort`` stops the test when the source reaches its compliance.

        Everything is checked before anything is sent (ValueError); then the 2182A's presence is
        asked (``:SOUR:DELT:NVPR?``) and the settings are sent — ``:SOUR:DELT:HIGH``, ``LOW``,
        ``DEL``, ``COUN``, ``CAB``, buffer size ``:TRAC:POIN``, readings with timestamps
        (``:FORM:ELEM READ,TST``), in volts (``:UNIT:VOLT:DC V``) — and the error queue is read.
        """
        spec = KEITHLEY_6221.delta
        high = float(high_current_a)
        low = -high if low_current_a is None else float(low_current_a)
        delay = float(delay_s)
        check("Delta high current", high, spec.high, "A", "6221")
        check("Delta low current", low, spec.low, "A", "6221")
        check("Delta delay", delay, spec.delay, "s", "6221")
        if isinstance(count, bool) or int(count) != count:
            raise ValueError(f"Delta count must be a whole number of readings, got {count!r}")
        count = int(count)
        check("Delta count", count, spec.count, "readings", "6221")
        check("Delta count", count, spec.buffer, "readings", "6221 buffer")
        if self._delta_running:
            self.delta_abort()
        present = self.ask(":SOUR:DELT:NVPR?").strip()
        if present not in ("1", "+1"):
            from hil.errors import InstrumentError

            raise InstrumentError("6221: no 2182A answers on the RS-232 port (:SOUR:DELT:NVPR? answered "
                                  f"{present!r}); Delta needs the 2182A connected and set to RS-232, 19.2 kbaud")
        self.write(f":SOUR:DELT:HIGH {high:.10g}")  # sets LOW to −HIGH: LOW follows
        self.write(f":SOUR:DELT:LOW {low:.10g}")
        self.write(f":SOUR:DELT:DEL {delay:.6g}")
        self.write(f":SOUR:DELT:COUN {count:d}")
        self.write(f":SOUR:DELT:CAB {'ON' if compliance_abort else 'OFF'}")
        self.write(f":TRAC:POIN {count:d}")
        self.write(":FORM:ELEM READ,TST")
        self.write(":UNIT:VOLT:DC V")
        self.check_step("Delta set-up")
        self._delta = (high, low, delay, count)

    def delta_start(self) -> None:
        """Clear the buffer, arm Delta (``:SOUR:DELT:ARM``, then ``:SOUR:DELT:ARM?`` until 1: arming
        talks to the 2182A) and start it (``:INIT:IMM``); the output carries the Delta currents."""
        from hil.errors import InstrumentError

        if self._delta is None:
            raise InstrumentError("6221: delta_start before delta_configure")
        self.write(":TRAC:CLE")
        self.write(":SOUR:DELT:ARM")
        self.check_step("Delta arm")
        self._voltmeter_set = False  # the 6221 now drives the 2182A; it returns it in local mode
        deadline = time.monotonic() + self.voltmeter_timeout
        while self.ask(":SOUR:DELT:ARM?").strip() not in ("1", "+1"):
            if time.monotonic() > deadline:
                raise InstrumentError(f"6221: Delta not armed {self.voltmeter_timeout:g} s after :SOUR:DELT:ARM "
                                      "(is the 2182A answering on RS-232?)")
            time.sleep(0.01)
        self.write(":INIT:IMM")
        self.check_step("Delta start")
        self._delta_running = True

    def delta_read(self, timeout_s: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Wait until the buffer holds the configured count (``:TRAC:POIN:ACT?``), then read it
        (``:TRAC:DATA?``); returns (time s from the first reading, Delta voltage V) per reading.
        An overflowed reading (+9.9E37) is NaN. ``timeout_s`` (default: count × (2·delay + 0.5 s)
        + 5 s) passing first raises InstrumentError — the test stopped short (compliance abort, or the
        2182A stopped answering). Delta stays armed: :meth:`delta_start` runs it again."""
        from hil.errors import InstrumentError

        if self._delta is None:
            raise InstrumentError("6221: delta_read before delta_configure and delta_start")
        _, _, delay, count = self._delta
        timeout = count * (2 * delay + 0.5) + 5.0 if timeout_s is None else float(timeout_s)
        deadline = time.monotonic() + timeout
        stored = int(float(self.ask(":TRAC:POIN:ACT?")))
        while stored < count:
            if time.monotonic() > deadline:
                tripped = " (the source is in compliance)" if self.compliance_tripped() else ""
                raise InstrumentError(f"6221: {stored} of {count} Delta readings after {timeout:g} s{tripped}; "
                                      "compliance abort, or the 2182A stopped answering")
            time.sleep(0.01)
            stored = int(float(self.ask(":TRAC:POIN:ACT?")))
        reply = self.ask(":TRAC:DATA?").strip()
        values = np.array([_number(v) for v in reply.split(",") if v.strip()], dtype=float)
        if values.size != 2 * count:
            raise InstrumentError(f"6221: :TRAC:DATA? sent {values.size} numbers, expected {count} readings "
                                  "× (reading, timestamp)")
        return values[1::2], values[0::2]

    def delta_abort(self) -> None:
        """Stop Delta (``:SOUR:SWE:ABOR``; the 2182A goes back to local) and read the error queue."""
        self.write(":SOUR:SWE:ABOR")
        self._delta_running = False
        self._voltmeter_set = False
        self.check_step("Delta abort")

    def _zero_output(self) -> None:
        if self._delta_running:
            self.write(":SOUR:SWE:ABOR")
            self._delta_running = False
        self.source_current = 0.0


class Keithley2400Bias(_BiasOutput, ErrorChecked, Keithley2400):
    """Keithley 2400 SourceMeter: a current source measuring the voltage across the load (the
    role), or, with ``source = "voltage"``, a voltage source with a current compliance measuring
    the current.

    :param adapter: VISA resource name or pymeasure adapter.
    :param nplc: integration time of each reading in power-line cycles (0.01 to 10).
    :param four_wire: remote (4-wire) sense (``:SYST:RSEN ON``).
    :param source: ``"current"`` (default; the BiasSource role) or ``"voltage"``: then
        :meth:`set_voltage`, :meth:`set_compliance_current` and :meth:`measure_current` drive it,
        and the role's current setters refuse (ValueError), since there is no current setpoint.
    :param source_range: fixed source range (A for a current source, V for a voltage source): the
        smallest of the 2400's ranges that holds it, setpoints beyond it (+5 %) refused; None: auto.
    :param sense_range: fixed range of the measured quantity (V for a current source, A for a
        voltage source); None: auto. (The sourced quantity's measurement follows the source range.)
    :param kwargs: passed to pymeasure's VISA adapter.

    Construction sends ``:FORMAT:ELEMENTS ...`` (pymeasure's reply format: VOLT, CURR, RES,
    TIME, STAT). :meth:`measure_voltage` here is the role's reading, replacing pymeasure's
    deprecated configuration method of that name. The 2400's power envelope (more than 105 mA
    only up to 21 V, more than 21 V only up to 105 mA) is checked against the level and
    compliance this driver set, before either is sent.
    """

    source_current = Instrument.control(
        ":SOURCE:CURRENT?", ":SOURCE:CURRENT %.10g",
        """Control the source current in A (float, strictly −1.05 to 1.05 A; never clamped).""",
        validator=strict_range, values=list(K2400_CURRENT_RANGE),
    )
    compliance_voltage = Instrument.control(
        ":SENSE:VOLTAGE:PROTECTION?", ":SENSE:VOLTAGE:PROTECTION %.6g",
        """Control the voltage compliance in V (float, strictly 0 to 210 V).""",
        validator=strict_range, values=list(K2400_COMPLIANCE_RANGE),
    )
    source_voltage = Instrument.control(
        ":SOURCE:VOLTAGE?", ":SOURCE:VOLTAGE %.10g",
        """Control the source voltage in V (float, strictly −210 to 210 V; never clamped).""",
        validator=strict_range, values=list(K2400_VOLTAGE_RANGE),
    )
    compliance_current = Instrument.control(
        ":SENSE:CURRENT:PROTECTION?", ":SENSE:CURRENT:PROTECTION %.6g",
        """Control the current compliance of the voltage source in A (float, strictly 0 to 1.05 A).""",
        validator=strict_range, values=list(K2400_CURRENT_COMPLIANCE_RANGE),
    )

    MODEL = "2400"
    SOURCES = ("current", "voltage")

    def __init__(self, adapter, name: str = "Keithley 2400 bias source", nplc: float = 1.0, four_wire: bool = False,
                 source: str = "current", source_range: float | None = None, sense_range: float | None = None,
                 **kwargs):
        check("NPLC", float(nplc), KEITHLEY_2400.nplc, "PLC", "2400")
        source = str(source).strip().lower()
        if source not in self.SOURCES:
            raise ValueError(f"source {source!r}: the 2400 sources 'current' or 'voltage'")
        amps, volts = K2400_CURRENT_RANGE[1], K2400_VOLTAGE_RANGE[1]
        source_unit, sense_unit = ("A", "V") if source == "current" else ("V", "A")
        source_top, sense_top = (amps, volts) if source == "current" else (volts, amps)
        if source_range is not None:
            source_range = _positive("source range", source_range, source_top, source_unit, "2400")
        if sense_range is not None:
            sense_range = _positive("sense range", sense_range, sense_top, sense_unit, "2400")
        super().__init__(adapter, name, **kwargs)  # sends :FORMAT:ELEMENTS (before Nagle is off)
        self.nplc = float(nplc)
        self.four_wire = bool(four_wire)
        self.source = source
        self.source_range, self.sense_range = source_range, sense_range
        self._configured = False
        self._level: float | None = None  # the source level this driver set (A or V)
        self._limit: float | None = None  # the compliance this driver set (V or A)
        disable_nagle(self)

    # -- set-up -------------------------------------------------------------------

    def configure(self) -> None:
        """Once: source function and range, sense function(s) at ``nplc`` and their range, 2- or
        4-wire. A current source senses VOLT; a voltage source senses CURR and VOLT (concurrently,
        so the voltage reading is the real output in compliance, not the programmed level)."""
        sense, functions = ("VOLT", "'VOLT'") if self.source == "current" else ("CURR", "'CURR','VOLT'")
        self.source_mode = self.source
        # pymeasure's source_{current|voltage}_range[_auto_enabled]
        if self.source_range is None:
            setattr(self, f"source_{self.source}_range_auto_enabled", True)
        else:
            setattr(self, f"source_{self.source}_range", self.source_range)
        self.write(f":SENS:FUNC {functions}")
        self.write(f":SENS:{sense}:NPLC {self.nplc:g}")
        if self.sense_range is None:
            self.write(f":SENS:{sense}:RANG:AUTO ON")
        else:
            self.write(f":SENS:{sense}:RANG {self.sense_range:.6g}")
        self.write(f":SYST:RSEN {'ON' if self.four_wire else 'OFF'}")
        self.check_step(f"{self.source}-source set-up")
        self._configured = True

    def _need(self, source: str, what: str, instead: str) -> None:
        if self.source != source:
            raise ValueError(f"2400 configured as a {self.source} source (bench option source = "
                             f"{self.source!r}): {what} is for a {source} source; use {instead}")

    def _check_level(self, level: float) -> None:
        """A setpoint against the fixed source range (+5 %) and the power envelope."""
        ranges = KEITHLEY_2400.current_ranges if self.source == "current" else KEITHLEY_2400.voltage_ranges
        unit = "A" if self.source == "current" else "V"
        if self.source_range is not None:
            fixed = fixed_range(self.source_range, ranges, KEITHLEY_2400.overrange)
            check(f"source {'current' if unit == 'A' else 'voltage'}", abs(level),
                  (0.0, fixed * KEITHLEY_2400.overrange), unit, "2400 on its fixed source range")
        self._check_envelope(level, self._limit)

    def _check_envelope(self, level: float | None, limit: float | None) -> None:
        """The 2400's envelope: above 105 mA (the 1 A range) only up to 21 V; above 21 V (the 200 V
        range) only up to 105 mA — the range in use is the fixed one, else the one the level needs."""
        amps_high, volts_there, volts_high, amps_there = KEITHLEY_2400.envelope
        if self.source == "current":
            ranges, edge, cap, what, cap_unit = KEITHLEY_2400.current_ranges, amps_high, volts_there, "A", "V"
        else:
            ranges, edge, cap, what, cap_unit = KEITHLEY_2400.voltage_ranges, volts_high, amps_there, "V", "A"
        sized = self.source_range if self.source_range is not None else (None if level is None else abs(level))
        in_use = None if sized is None else fixed_range(sized, ranges, KEITHLEY_2400.overrange)
        if in_use is not None and in_use > edge and limit is not None and abs(limit) > cap:
            raise ValueError(
                f"2400 power envelope: on its {in_use:g} {what} source range it holds at most {cap:g} "
                f"{cap_unit} of compliance, asked {abs(limit):g} {cap_unit} (User's Manual, measurement range "
                "limits); lower the compliance or the level")

    def _set_level(self, level: float) -> None:
        """Send the source level (A or V, of the function configured) once the fixed range and the
        envelope allow it, configuring first if not yet done; nothing is sent if they refuse."""
        self._check_level(level)
        if not self._configured:
            self.configure()
        if self.source == "current":
            self.source_current, unit = level, "A"
        else:
            self.source_voltage, unit = level, "V"
        self._level = level
        self.check_step(f"source {self.source} {level:g} {unit}")

    def _set_limit(self, limit: float) -> None:
        """Send the compliance (V of a current source, A of a voltage source) once the envelope allows it."""
        self._check_envelope(self._level, limit)
        if self.source == "current":
            self.compliance_voltage, unit = limit, "V"
        else:
            self.compliance_current, unit = limit, "A"
        self._limit = limit
        self.check_step(f"compliance {limit:g} {unit}")

    # -- the role (current source) --------------------------------------------

    def set_current(self, current: float) -> None:
        """Source ``current`` A (±1.05 A; the fixed range and the envelope checked); nothing sent if not."""
        self._need("current", "set_current", "set_voltage")
        self._set_level(_current(current, K2400_CURRENT_RANGE, "2400"))

    def get_current(self) -> float:
        self._need("current", "get_current", "measure_current")
        return float(self.source_current)

    def set_compliance_voltage(self, voltage: float) -> None:
        self._need("current", "set_compliance_voltage", "set_compliance_current")
        voltage = float(voltage)
        check("compliance voltage", voltage, K2400_COMPLIANCE_RANGE, "V", "2400")
        self._set_limit(voltage)

    # -- voltage source ---------------------------------------------------------

    def set_voltage(self, voltage: float) -> None:
        """Source ``voltage`` V (±210 V; the fixed range and the envelope checked); nothing sent if not.
        Only with ``source = "voltage"``."""
        self._need("voltage", "set_voltage", "set_current")
        voltage = float(voltage)
        check("source voltage", voltage, K2400_VOLTAGE_RANGE, "V", "2400")
        self._set_level(voltage)

    def get_voltage(self) -> float:
        """The voltage setpoint in V as the instrument reports it (``:SOURCE:VOLTAGE?``)."""
        self._need("voltage", "get_voltage", "get_current")
        return float(self.source_voltage)

    def set_compliance_current(self, current: float) -> None:
        """Current compliance of the voltage source in A (0 to 1.05 A, magnitude); nothing sent if out
        of range or the envelope. Only with ``source = "voltage"``."""
        self._need("voltage", "set_compliance_current", "set_compliance_voltage")
        current = float(current)
        if not 0 < current <= K2400_CURRENT_COMPLIANCE_RANGE[1]:
            raise ValueError(f"compliance current {current:.6g} A is outside the 2400's range "
                             f"(0, {K2400_CURRENT_COMPLIANCE_RANGE[1]:g}] A")
        self._set_limit(current)

    # -- readings -----------------------------------------------------------------

    def _read(self) -> list[float]:
        if not self._configured:
            self.configure()
        return [math.nan if float(v) == NOT_A_NUMBER else float(v) for v in self.ask(":READ?").split(",")]

    def measure_voltage(self) -> float:  # type: ignore[override]
        """Voltage across the load in V: one ``:READ?`` (first element, VOLT) with the set-up of
        :meth:`configure`; NaN where the instrument answers SCPI's not-a-number 9.91E+37."""
        return self._read()[0]

    def measure_current(self) -> float:  # type: ignore[override]
        """Current through the load in A: one ``:READ?`` (second element, CURR). With a voltage source
        it is measured; with a current source it is the programmed level (the 2400 reports the source
        value for a function it does not sense)."""
        return self._read()[1]

    def compliance_tripped(self) -> bool:
        """Whether the source is held at its compliance: ``:SENS:VOLT:PROT:TRIP?`` (current source,
        voltage compliance) or ``:SENS:CURR:PROT:TRIP?`` (voltage source, current compliance)."""
        query = ":SENS:VOLT:PROT:TRIP?" if self.source == "current" else ":SENS:CURR:PROT:TRIP?"
        return self.ask(query).strip() in ("1", "+1")

    def _zero_output(self) -> None:
        if self.source == "voltage":
            self.source_voltage = 0.0
        else:
            self.source_current = 0.0
