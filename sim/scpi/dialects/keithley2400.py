"""The Keithley 2400 SourceMeter's SCPI (current source, voltage measure), fronting any
:class:`hil.roles.BiasSource`.

The twin only sources current: in voltage-source mode settings are kept but
the twin's current stays as it was. Readings follow ``:FORM:ELEM`` (pymeasure
sets VOLT, CURR, RES, TIME, STAT); the twin supplies the voltage
(``measure_voltage``) and the current (``get_current``); resistance is not
measured (9.91E+37, SCPI's NaN).
"""

from __future__ import annotations

import time

from hil.instruments import KEITHLEY_2400 as SPEC
from hil.roles import BiasSource
from hil.sim.scpi.dialect import Call, Dialect, choice, flag, format_number, method, number
from hil.sim.scpi.errors import ScpiError

ELEMENTS = ("VOLTage", "CURRent", "RESistance", "TIME", "STATus")


class Keithley2400Dialect(Dialect):
    name = SPEC.key
    role = BiasSource
    idn = SPEC.idn
    options = SPEC.options

    COMMANDS = (
        method(":FORMat:ELEMents[:SENSe#]", "_elements"),
        choice("[:SOURce#]:FUNCtion[:MODE]", "function", ("VOLTage", "CURRent"), apply="_apply_function"),
        number("[:SOURce#]:CURRent[:LEVel][:IMMediate][:AMPLitude]", "current", SPEC.current, unit="A",
               apply="_apply_current"),
        flag("[:SOURce#]:CURRent:RANGe:AUTO", "auto_range"),
        number("[:SOURce#]:CURRent:RANGe", "current_range", (0.0, 1.05), unit="A"),
        method("[:SENSe#]:FUNCtion[:ON]", "_sense_function"),
        number("[:SENSe#]:VOLTage[:DC]:NPLCycles", "nplc", SPEC.nplc),
        number("[:SENSe#]:VOLTage[:DC]:RANGe[:UPPer]", "voltage_range", (0.0, 210.0), unit="V"),
        flag("[:SENSe#]:VOLTage[:DC]:RANGe:AUTO", "voltage_auto_range"),
        method("[:SENSe#]:VOLTage[:DC]:PROTection:TRIPped", "_tripped", write=False),
        flag(":SYSTem:RSENse", "remote_sense"),
        number("[:SENSe#]:VOLTage[:DC]:PROTection[:LEVel]", "compliance", (-210.0, 210.0), unit="V",
               apply="_apply_compliance"),
        flag(":OUTPut#[:STATe]", "output", apply="_apply_output"),
        method(":MEASure:VOLTage[:DC]", "_reading", write=False),
        method(":MEASure:CURRent[:DC]", "_reading", write=False),
        method(":READ", "_reading", write=False),
    )

    def reset(self) -> None:
        s = self.state
        s.function, s.current, s.auto_range, s.compliance, s.output = "VOLT", 0.0, True, 21.0, False
        s.elements = ["VOLT", "CURR", "RES", "TIME", "STAT"]
        s.current_range, s.nplc, s.voltage_range, s.voltage_auto_range = 1.05e-4, 1.0, 21.0, True
        s.remote_sense, s.sense_functions = False, ["CURR"]
        self._started = time.monotonic()
        self.sync_twin(self.twin.output_off)
        self.sync_twin(self.twin.set_compliance_voltage, s.compliance)

    def _elements(self, call: Call) -> str | None:
        if call.query:
            return ",".join(self.state.elements)
        call.count(1, len(ELEMENTS))
        self.state.elements = [call.word(i, ELEMENTS) for i in range(len(call.args))]
        return None

    def _sense_function(self, call: Call) -> str | None:
        """``:SENS:FUNC 'VOLT'`` (a quoted list): what ``:READ?`` measures."""
        if call.query:
            call.count(0)
            return ",".join(f'"{f}:DC"' for f in self.state.sense_functions)
        call.count(1, 3)
        names = []
        for i in range(len(call.args)):
            text = (call.args[i].string or call.text(i)).upper().replace(":DC", "")
            name = {"VOLTAGE": "VOLT", "CURRENT": "CURR", "RESISTANCE": "RES"}.get(text, text)
            if name not in ("VOLT", "CURR", "RES"):
                raise ScpiError(-224, f"sense function {text!r}")
            names.append(name)
        self.state.sense_functions = names
        return None

    def _tripped(self, call: Call) -> str:
        call.count(0)
        tripped = getattr(self.twin, "in_compliance", None)
        return "1" if callable(tripped) and self.call_twin(tripped) else "0"

    def _apply_function(self, call: Call, state, function: str) -> None:
        if function == "CURR":
            self.call_twin(self.twin.set_current, state.current)

    def _apply_current(self, call: Call, state, value: float) -> None:
        if state.function == "CURR":
            self.call_twin(self.twin.set_current, value)

    def _apply_compliance(self, call: Call, state, value: float) -> None:
        self.call_twin(self.twin.set_compliance_voltage, abs(value))

    def _apply_output(self, call: Call, state, on: bool) -> None:
        self.call_twin(self.twin.output_on if on else self.twin.output_off)

    def _reading(self, call: Call) -> str:
        """The elements set, in order; outside current-source mode 9.91E+37 each and -221 queued
        (the reply still comes, so the client does not wait for a timeout)."""
        call.count(0)
        if self.state.function != "CURR":
            self.errors.push(ScpiError(-221, "the twin sources current only (:SOUR:FUNC CURR)"))
            return ",".join(format_number(float("nan")) for _ in self.state.elements)
        values = {
            "VOLT": lambda: self.call_twin(self.twin.measure_voltage),
            "CURR": lambda: self.call_twin(self.twin.get_current),
            "RES": lambda: float("nan"),
            "TIME": lambda: time.monotonic() - self._started,
            "STAT": lambda: 0.0,
        }
        return ",".join(format_number(values[e]()) for e in self.state.elements)
