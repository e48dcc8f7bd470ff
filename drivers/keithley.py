"""Keithley 6221 and 2400 as :class:`hil.roles.BiasSource`: a DC bias current with a voltage compliance.

Both extend pymeasure's drivers, with one change of substance: a current out
of the instrument's range raises ValueError and nothing is sent. (pymeasure's
6221 uses ``truncated_range``, which would silently source a different
current than asked; a bias current is never quietly changed.) Setpoints are
sent with ten significant digits, not ``%g``'s six.

Settled against references (cited in :mod:`hil.instruments.sources`):

- 6221: ``*RST`` leaves source auto-range off on the 2 mA range, so before the
  first setpoint the driver sets the range once — ``:SOUR:CURR:RANG <A>`` from
  the bench's ``current_range``, or ``:SOUR:CURR:RANG:AUTO ON`` when none is given;
- 2400: configured once (current source, auto range, ``:SENS:FUNC 'VOLT'``,
  NPLC, 2- or 4-wire sense), then every reading is ``:READ?`` — not
  ``:MEAS:VOLT?``, which re-applies the function's defaults each time;
  :meth:`Keithley2400Bias.compliance_tripped` asks ``:SENS:VOLT:PROT:TRIP?``;
- both read the error queue after each configuring step (InstrumentError).
"""

from __future__ import annotations

import math
import time

from pymeasure.instruments import Instrument
from pymeasure.instruments.keithley import Keithley2400, Keithley6221
from pymeasure.instruments.validators import strict_range

from hil.drivers._checks import ErrorChecked, check
from hil.drivers._transport import disable_nagle
from hil.instruments import KEITHLEY_2400, KEITHLEY_6221

K6221_CURRENT_RANGE = KEITHLEY_6221.current  # A
K6221_COMPLIANCE_RANGE = KEITHLEY_6221.compliance  # V
K2400_CURRENT_RANGE = KEITHLEY_2400.current  # A
K2400_COMPLIANCE_RANGE = KEITHLEY_2400.compliance  # V
#: What SCPI instruments send for "no number".
NOT_A_NUMBER = 9.91e37


def _current(value: float, bounds: tuple[float, float], model: str) -> float:
    value = float(value)
    check("bias current", value, bounds, "A", model)
    return value


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

    def shutdown(self) -> None:
        """Setpoint to 0 A, then output off (attempted even if the first step fails).

        Replaces pymeasure's shutdown (the 2400's reads the mode back and ramps for 0.6 s).
        """
        try:
            self.source_current = 0.0
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
    connection.

    :param adapter: VISA resource name or pymeasure adapter.
    :param voltmeter_timeout: seconds to wait for the 2182A's reading.
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
        check("2182A NPLC", float(voltmeter_nplc), (0.01, 60.0), "PLC", "2182A")
        if voltmeter_range is not None:
            check("2182A range", float(voltmeter_range), (0.0, 120.0), "V", "2182A")
        self.voltmeter_nplc = float(voltmeter_nplc)
        self.voltmeter_range = None if voltmeter_range is None else float(voltmeter_range)
        self._voltmeter_set = False
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
            check("bias current", abs(current), (0.0, self.current_range * 1.05), "A", "6221 on its fixed range")
        if not self._range_set:
            self.set_range()
        self.source_current = current
        self.check_step(f"source current {current:g} A")

    def set_compliance_voltage(self, voltage: float) -> None:
        voltage = float(voltage)
        check("compliance voltage", voltage, K6221_COMPLIANCE_RANGE, "V", "6221")
        self.source_compliance = voltage
        self.check_step(f"compliance {voltage:g} V")

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
        if not self._voltmeter_set:
            self.configure_voltmeter()
        return float(self._voltmeter_ask(self.VOLTMETER_QUERY).split(",")[0])


class Keithley2400Bias(_BiasOutput, ErrorChecked, Keithley2400):
    """Keithley 2400 SourceMeter sourcing current and measuring the voltage across the load.

    :param adapter: VISA resource name or pymeasure adapter.
    :param nplc: integration time of each voltage reading in power-line cycles (0.01 to 10).
    :param four_wire: remote (4-wire) sense of the voltage (``:SYST:RSEN ON``).
    :param kwargs: passed to pymeasure's VISA adapter.

    Construction sends ``:FORMAT:ELEMENTS ...`` (pymeasure's reply format).
    :meth:`measure_voltage` here is the role's reading, replacing pymeasure's
    deprecated configuration method of that name.
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

    MODEL = "2400"

    def __init__(self, adapter, name: str = "Keithley 2400 bias source", nplc: float = 1.0, four_wire: bool = False,
                 **kwargs):
        check("NPLC", float(nplc), KEITHLEY_2400.nplc, "PLC", "2400")
        super().__init__(adapter, name, **kwargs)  # sends :FORMAT:ELEMENTS (before Nagle is off)
        self.nplc = float(nplc)
        self.four_wire = bool(four_wire)
        self._configured = False
        disable_nagle(self)

    def configure(self) -> None:
        """Once: current source on auto range, voltage sensed at ``nplc``, 2- or 4-wire."""
        self.source_mode = "current"
        self.source_current_range_auto_enabled = True
        self.write(":SENS:FUNC 'VOLT'")
        self.write(f":SENS:VOLT:NPLC {self.nplc:g}")
        self.write(f":SYST:RSEN {'ON' if self.four_wire else 'OFF'}")
        self.check_step("current-source / voltage-sense set-up")
        self._configured = True

    def set_current(self, current: float) -> None:
        """Source ``current`` A (current-source mode, auto range); outside ±1.05 A raises, nothing sent."""
        current = _current(current, K2400_CURRENT_RANGE, "2400")
        if not self._configured:
            self.configure()
        self.source_current = current
        self.check_step(f"source current {current:g} A")

    def set_compliance_voltage(self, voltage: float) -> None:
        voltage = float(voltage)
        check("compliance voltage", voltage, K2400_COMPLIANCE_RANGE, "V", "2400")
        self.compliance_voltage = voltage
        self.check_step(f"compliance {voltage:g} V")

    def measure_voltage(self) -> float:  # type: ignore[override]
        """Voltage across the load in V: one ``:READ?`` (first element, VOLT) with the set-up of
        :meth:`configure`; NaN where the instrument answers SCPI's not-a-number 9.91E+37."""
        if not self._configured:
            self.configure()
        value = float(self.ask(":READ?").split(",")[0])
        return math.nan if value == NOT_A_NUMBER else value

    def compliance_tripped(self) -> bool:
        """Whether the output is held at the voltage compliance (``:SENS:VOLT:PROT:TRIP?``)."""
        return self.ask(":SENS:VOLT:PROT:TRIP?").strip() in ("1", "+1")
