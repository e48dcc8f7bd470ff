"""The Keithley 6221's SCPI (DC current source), fronting any :class:`hil.roles.BiasSource`,
with the 2182A nanovoltmeter reached through its serial pass-through.

Setpoints go to the twin as they are set (the twin gates them with its own
output state): ``:SOUR:CURR`` → ``twin.set_current``, ``:SOUR:CURR:COMP`` →
``twin.set_compliance_voltage``, ``OUTP`` → ``twin.output_on/off``.
``:SYST:COMM:SER:SEND "<2182A command>"`` runs the command on a 2182A
dialect reading ``twin.measure_voltage``; ``:SYST:COMM:SER:ENT?`` returns
what the 2182A answered (empty when nothing is waiting).
"""

from __future__ import annotations

from hil.instruments import KEITHLEY_6221 as SPEC
from hil.roles import BiasSource
from hil.sim.scpi.dialect import Call, Dialect, flag, format_number, method, number
from hil.sim.scpi.errors import ScpiError


class Keithley2182ADialect(Dialect):
    """The part of the 2182A's SCPI a bias source needs: voltage readings."""

    name = "keithley2182a"
    role = BiasSource
    idn = "KEITHLEY INSTRUMENTS INC.,MODEL 2182A,TWIN000001,spin-hil-twin"
    COMMANDS = (
        method("[:SENSe#]:DATA:FRESh", "_reading", write=False),
        method("[:SENSe#]:DATA[:LATest]", "_reading", write=False),
        method(":READ", "_reading", write=False),
        method(":FETCh", "_reading", write=False),
        method("[:SENSe#]:FUNCtion", "_function"),
        number("[:SENSe#]:VOLTage[:DC]:NPLCycles", "nplc", (0.01, 60.0)),
        number("[:SENSe#]:VOLTage[:DC][:CHANnel1]:RANGe[:UPPer]", "range", (0.0, 120.0), unit="V"),
        flag("[:SENSe#]:VOLTage[:DC][:CHANnel1]:RANGe:AUTO", "auto_range"),
    )

    def reset(self) -> None:
        self.state.function, self.state.nplc, self.state.range, self.state.auto_range = "VOLT", 5.0, 120.0, True

    def _function(self, call: Call) -> str | None:
        if call.query:
            call.count(0)
            return f'"{self.state.function}:DC"'
        call.count(1)
        name = (call.args[0].string or call.text(0)).upper().replace(":DC", "")
        if name not in ("VOLT", "VOLTAGE"):
            raise ScpiError(-224, f"function {name!r}: the twin's 2182A measures voltage only")
        self.state.function = "VOLT"
        return None

    def _reading(self, call: Call) -> str:
        call.count(0)
        return format_number(self.call_twin(self.twin.measure_voltage))


class Keithley6221Dialect(Dialect):
    """Source ranges as on the instrument: ``:SOUR:CURR:RANG <A>`` picks the smallest fixed range
    that holds the value; with auto range off (the ``*RST`` state, on the 2 mA range) a setpoint
    beyond the range is refused (-221) and the output keeps its value; ``:SOUR:CURR:RANG:AUTO ON``
    ranges for every setpoint."""

    name = SPEC.key
    role = BiasSource
    idn = SPEC.idn
    options = SPEC.options

    COMMANDS = (
        number("[:SOURce]:CURRent[:LEVel][:IMMediate][:AMPLitude]", "current", SPEC.current, unit="A",
               check="_check_range", apply="_apply_current"),
        number("[:SOURce]:CURRent:COMPliance", "compliance", SPEC.compliance, unit="V", apply="_apply_compliance"),
        flag("[:SOURce]:CURRent:RANGe:AUTO", "auto_range"),
        method("[:SOURce]:CURRent:RANGe", "_range"),
        flag(":OUTPut[:STATe]", "output", apply="_apply_output"),
        method(":SYSTem:COMMunicate:SERial:SEND", "_serial_send", query=False),
        method(":SYSTem:COMMunicate:SERial:ENTer", "_serial_enter", write=False),
    )

    def reset(self) -> None:
        s = self.state
        s.current, s.compliance, s.auto_range, s.range, s.output = 0.0, 10.0, False, 2e-3, False
        self.voltmeter = Keithley2182ADialect(self.twin)
        self.serial_buffer: list[bytes] = []
        self.sync_twin(self.twin.output_off)
        self.sync_twin(self.twin.set_current, 0.0)
        self.sync_twin(self.twin.set_compliance_voltage, s.compliance)

    def _check_range(self, state, attr: str, value: float) -> None:
        if not state.auto_range and abs(value) > state.range * 1.05 + 1e-15:
            raise ScpiError(-221, f"{value:g} A beyond the {state.range:g} A range with auto range off "
                                  "(:SOUR:CURR:RANG or :SOUR:CURR:RANG:AUTO ON first)")

    def _range(self, call: Call) -> str | None:
        if call.query:
            call.count(0, 1)
            if call.args:
                return format_number(SPEC.current_ranges[0 if call.word(0, ("MINimum", "MAXimum")) == "MIN" else -1])
            return format_number(self.state.range)
        call.count(1)
        value = abs(call.number(0, "A", (SPEC.current_ranges[0], SPEC.current_ranges[-1])))
        fitting = [r for r in SPEC.current_ranges if r * 1.05 >= value - 1e-15]
        if not fitting:
            raise ScpiError(-222, f"range {value:g} A beyond {SPEC.current_ranges[-1]:g} A")
        if abs(self.state.current) > fitting[0] * 1.05:
            raise ScpiError(-221, f"the setpoint {self.state.current:g} A does not fit the {fitting[0]:g} A range")
        self.state.range = fitting[0]
        return None

    def _apply_current(self, call: Call, state, value: float) -> None:
        self.call_twin(self.twin.set_current, value)

    def _apply_compliance(self, call: Call, state, value: float) -> None:
        self.call_twin(self.twin.set_compliance_voltage, value)

    def _apply_output(self, call: Call, state, on: bool) -> None:
        self.call_twin(self.twin.output_on if on else self.twin.output_off)

    def _serial_send(self, call: Call) -> None:
        call.count(1)
        reply = self.voltmeter.execute(call.string(0).encode("ascii"))
        if reply is not None:
            self.serial_buffer.append(reply.rstrip(b"\n"))

    def _serial_enter(self, call: Call) -> bytes:
        call.count(0)
        return self.serial_buffer.pop(0) if self.serial_buffer else b""
