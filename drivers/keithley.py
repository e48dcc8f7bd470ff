"""Keithley 6221 and 2400 as :class:`hil.roles.BiasSource`: a DC bias current with a voltage compliance.

Both extend pymeasure's drivers, with one change of substance: a current out
of the instrument's range raises ValueError and nothing is sent. (pymeasure's
6221 uses ``truncated_range``, which would silently source a different
current than asked; a bias current is never quietly changed.) Setpoints are
sent with ten significant digits, not ``%g``'s six.
"""

from __future__ import annotations

import math
import time

from pymeasure.instruments import Instrument
from pymeasure.instruments.keithley import Keithley2400, Keithley6221
from pymeasure.instruments.validators import strict_range

from hil.drivers._checks import check
from hil.drivers._transport import disable_nagle

K6221_CURRENT_RANGE = (-0.105, 0.105)  # A
K6221_COMPLIANCE_RANGE = (0.1, 105.0)  # V
K2400_CURRENT_RANGE = (-1.05, 1.05)  # A
K2400_COMPLIANCE_RANGE = (0.0, 210.0)  # V
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


class Keithley6221Bias(_BiasOutput, Keithley6221):
    """Keithley 6221 current source; the voltage is read from a 2182A nanovoltmeter behind it.

    The 6221 has no voltmeter. :meth:`measure_voltage` asks a Keithley 2182A
    wired to the 6221's RS-232 port (the standard 6221 + 2182A pairing)
    through the 6221's serial pass-through, so only the 6221 needs a VISA
    connection.

    :param adapter: VISA resource name or pymeasure adapter.
    :param voltmeter_timeout: seconds to wait for the 2182A's reading.
    :param kwargs: passed to pymeasure's VISA adapter.
    """

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

    def __init__(self, adapter, name: str = "Keithley 6221 bias source", voltmeter_timeout: float = 2.0, **kwargs):
        super().__init__(adapter, name, **kwargs)
        self.voltmeter_timeout = float(voltmeter_timeout)
        disable_nagle(self)

    def set_current(self, current: float) -> None:
        """Source ``current`` A; outside ±0.105 A raises ValueError and nothing is sent."""
        self.source_current = _current(current, K6221_CURRENT_RANGE, "6221")

    def set_compliance_voltage(self, voltage: float) -> None:
        voltage = float(voltage)
        check("compliance voltage", voltage, K6221_COMPLIANCE_RANGE, "V", "6221")
        self.source_compliance = voltage

    def measure_voltage(self) -> float:
        """One fresh 2182A reading in V, relayed by the 6221 (polls until it arrives)."""
        self.write(f':SYST:COMM:SER:SEND "{self.VOLTMETER_QUERY}"')
        deadline = time.monotonic() + self.voltmeter_timeout
        while True:
            reply = self.ask(":SYST:COMM:SER:ENT?").strip()
            if reply:
                return float(reply.split(",")[0])
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"no reading from the 2182A within {self.voltmeter_timeout} s; check the RS-232 "
                    "cable between the 6221 and the 2182A and the 2182A's baud rate"
                )
            time.sleep(0.01)


class Keithley2400Bias(_BiasOutput, Keithley2400):
    """Keithley 2400 SourceMeter sourcing current and measuring the voltage across the load.

    :param adapter: VISA resource name or pymeasure adapter.
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

    def __init__(self, adapter, name: str = "Keithley 2400 bias source", **kwargs):
        super().__init__(adapter, name, **kwargs)  # sends :FORMAT:ELEMENTS (before Nagle is off)
        disable_nagle(self)

    def set_current(self, current: float) -> None:
        """Source ``current`` A (current-source mode, auto range); outside ±1.05 A raises, nothing sent."""
        current = _current(current, K2400_CURRENT_RANGE, "2400")
        self.source_mode = "current"
        self.source_current_range_auto_enabled = True
        self.source_current = current

    def set_compliance_voltage(self, voltage: float) -> None:
        voltage = float(voltage)
        check("compliance voltage", voltage, K2400_COMPLIANCE_RANGE, "V", "2400")
        self.compliance_voltage = voltage

    def measure_voltage(self) -> float:  # type: ignore[override]
        """Voltage across the load in V (one ``:MEASURE:VOLTAGE?`` reading); NaN where the
        instrument answers SCPI's not-a-number 9.91E+37."""
        value = float(self.voltage)
        return math.nan if value == NOT_A_NUMBER else value
