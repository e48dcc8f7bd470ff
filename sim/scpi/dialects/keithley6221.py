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

from hil.roles import BiasSource
from hil.sim.scpi.dialect import Call, Dialect, flag, format_number, method, number


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
    )

    def _reading(self, call: Call) -> str:
        call.count(0)
        return format_number(self.call_twin(self.twin.measure_voltage))


class Keithley6221Dialect(Dialect):
    name = "keithley6221"
    role = BiasSource
    idn = "KEITHLEY INSTRUMENTS INC.,MODEL 6221,TWIN000001,spin-hil-twin"

    COMMANDS = (
        number("[:SOURce]:CURRent[:LEVel][:IMMediate][:AMPLitude]", "current", (-0.105, 0.105), unit="A",
               apply="_apply_current"),
        number("[:SOURce]:CURRent:COMPliance", "compliance", (0.1, 105.0), unit="V", apply="_apply_compliance"),
        flag("[:SOURce]:CURRent:RANGe:AUTO", "auto_range"),
        number("[:SOURce]:CURRent:RANGe", "range", (-0.105, 0.105), unit="A"),
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
