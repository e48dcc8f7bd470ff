"""The Keithley 2400 SourceMeter's SCPI (current or voltage source, voltage and current measure),
fronting any :class:`hil.roles.BiasSource`.

Current source (``:SOUR:FUNC CURR``): ``:SOUR:CURR`` → ``twin.set_current``, the
voltage compliance ``:SENS:VOLT:PROT`` → ``twin.set_compliance_voltage``.

Voltage source (``:SOUR:FUNC VOLT``, the ``*RST`` state) on a twin that sources
current: a voltage source V with current compliance I_c and a current source
sign(V)·I_c with voltage compliance |V| put a resistive load at the same
operating point (I = V/R below I_c, I = ±I_c — the source in compliance —
above), so the twin is driven as the latter. The current reading is the
measured voltage through the twin's load resistance (its ``load_resistance()``,
or a ``resistance`` number); a twin without one reads NaN and queues -221.
``:SENS:CURR:PROT:TRIP?`` answers 1 when the current compliance holds the output.

Readings follow ``:FORM:ELEM`` (pymeasure sets VOLT, CURR, RES, TIME, STAT);
the twin supplies the voltage (``measure_voltage``); resistance is not measured
(9.91E+37, SCPI's NaN). Source ranges as on the instrument: ``…:RANG <n>`` picks
the smallest range holding n (auto off), and with auto off a level beyond the
range (+5 %) is refused (-221). Ranges and levels: :data:`hil.instruments.KEITHLEY_2400`.
"""

from __future__ import annotations

import math
import time

from hil.instruments import KEITHLEY_2400 as SPEC
from hil.instruments import fixed_range
from hil.roles import BiasSource
from hil.sim.scpi.dialect import (Call, Dialect, choice, flag, format_number, method, number, range_query,
                                  range_setting, twin_in_compliance, twin_load)
from hil.sim.scpi.errors import ScpiError

ELEMENTS = ("VOLTage", "CURRent", "RESistance", "TIME", "STATus")
RANGES = {"CURR": SPEC.current_ranges, "VOLT": SPEC.voltage_ranges}
UNITS = {"CURR": "A", "VOLT": "V"}


class Keithley2400Dialect(Dialect, spec=SPEC):
    role = BiasSource

    COMMANDS = (
        method(":FORMat:ELEMents[:SENSe#]", "_elements"),
        choice("[:SOURce#]:FUNCtion[:MODE]", "function", ("VOLTage", "CURRent"), apply="_apply_function"),
        number("[:SOURce#]:CURRent[:LEVel][:IMMediate][:AMPLitude]", "current", SPEC.current, unit="A",
               check="_check_level", apply="_apply_current"),
        number("[:SOURce#]:VOLTage[:LEVel][:IMMediate][:AMPLitude]", "voltage", SPEC.voltage, unit="V",
               check="_check_level", apply="_apply_voltage"),
        flag("[:SOURce#]:CURRent:RANGe:AUTO", "current_auto_range"),
        flag("[:SOURce#]:VOLTage:RANGe:AUTO", "voltage_source_auto_range"),
        method("[:SOURce#]:CURRent:RANGe", "_source_range"),
        method("[:SOURce#]:VOLTage:RANGe", "_source_range"),
        method("[:SENSe#]:FUNCtion[:ON]", "_sense_function"),
        number("[:SENSe#]:VOLTage[:DC]:NPLCycles", "nplc", SPEC.nplc),
        number("[:SENSe#]:CURRent[:DC]:NPLCycles", "nplc", SPEC.nplc),  # global on the 2400
        method("[:SENSe#]:VOLTage[:DC]:RANGe[:UPPer]", "_sense_range"),
        flag("[:SENSe#]:VOLTage[:DC]:RANGe:AUTO", "voltage_auto_range"),
        method("[:SENSe#]:CURRent[:DC]:RANGe[:UPPer]", "_sense_range"),
        flag("[:SENSe#]:CURRent[:DC]:RANGe:AUTO", "current_sense_auto_range"),
        method("[:SENSe#]:VOLTage[:DC]:PROTection:TRIPped", "_tripped", write=False),
        method("[:SENSe#]:CURRent[:DC]:PROTection:TRIPped", "_current_tripped", write=False),
        flag(":SYSTem:RSENse", "remote_sense"),
        number("[:SENSe#]:VOLTage[:DC]:PROTection[:LEVel]", "compliance", (-210.0, 210.0), unit="V",
               apply="_apply_compliance"),
        number("[:SENSe#]:CURRent[:DC]:PROTection[:LEVel]", "current_limit", (-SPEC.current_compliance[1],
               SPEC.current_compliance[1]), unit="A", apply="_apply_current_limit"),
        flag(":OUTPut#[:STATe]", "output", apply="_apply_output"),
        method(":MEASure:VOLTage[:DC]", "_reading", write=False),
        method(":MEASure:CURRent[:DC]", "_reading", write=False),
        method(":READ", "_reading", write=False),
    )

    def reset(self) -> None:
        s = self.state
        s.function, s.current, s.voltage, s.output = "VOLT", 0.0, 0.0, False
        s.compliance, s.current_limit = 21.0, 1.05e-4
        s.current_auto_range = s.voltage_source_auto_range = True
        s.source_ranges = {"CURR": 1e-4, "VOLT": 20.0}
        s.elements = ["VOLT", "CURR", "RES", "TIME", "STAT"]
        s.nplc, s.voltage_auto_range, s.current_sense_auto_range = 1.0, True, True
        s.sense_ranges = {"VOLT": 20.0, "CURR": 1e-4}
        s.remote_sense, s.sense_functions = False, ["CURR"]
        self._started = time.monotonic()
        self.sync_twin(self.twin.output_off)
        self.sync_twin(self.twin.set_current, 0.0)
        self.sync_twin(self.twin.set_compliance_voltage, s.compliance)

    # -- formats and functions ------------------------------------------------------

    def _elements(self, call: Call) -> str | None:
        if call.query:
            return ",".join(self.state.elements)
        call.count(1, len(ELEMENTS))
        self.state.elements = [call.word(i, ELEMENTS) for i in range(len(call.args))]
        return None

    def _sense_function(self, call: Call) -> str | None:
        """``:SENS:FUNC 'VOLT'`` or ``'CURR','VOLT'`` (quoted, concurrent): what ``:READ?`` measures."""
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

    # -- source ranges ----------------------------------------------------------------

    def _range_in_use(self, function: str) -> float:
        s = self.state
        auto = s.current_auto_range if function == "CURR" else s.voltage_source_auto_range
        if not auto:
            return s.source_ranges[function]
        level = abs(s.current if function == "CURR" else s.voltage)
        return fixed_range(level, RANGES[function], SPEC.overrange) or RANGES[function][-1]

    def _source_range(self, call: Call) -> str | None:
        function = "CURR" if "CURR" in call.header.upper() else "VOLT"
        if call.query:
            return range_query(call, RANGES[function], self._range_in_use(function))
        chosen = range_setting(call, RANGES[function], UNITS[function], SPEC.overrange)
        level = abs(self.state.current if function == "CURR" else self.state.voltage)
        if level > chosen * SPEC.overrange + 1e-15:
            raise ScpiError(-221, f"the level {level:g} {UNITS[function]} does not fit the {chosen:g} range")
        self.state.source_ranges[function] = chosen
        auto = "current_auto_range" if function == "CURR" else "voltage_source_auto_range"
        setattr(self.state, auto, False)
        return None

    def _sense_range(self, call: Call) -> str | None:
        """A measurement range: the most sensitive range holding the value; setting it turns that
        function's auto range off (pymeasure's voltage_range/current_range say the same)."""
        function = "CURR" if "CURR" in call.header.upper() else "VOLT"
        if call.query:
            return range_query(call, RANGES[function], self.state.sense_ranges[function])
        self.state.sense_ranges[function] = range_setting(call, RANGES[function], UNITS[function], SPEC.overrange)
        auto = "current_sense_auto_range" if function == "CURR" else "voltage_auto_range"
        setattr(self.state, auto, False)
        return None

    def _check_level(self, state, attr: str, value: float) -> None:
        function = "CURR" if attr == "current" else "VOLT"
        auto = state.current_auto_range if function == "CURR" else state.voltage_source_auto_range
        limit = state.source_ranges[function] * SPEC.overrange
        if not auto and abs(value) > limit + 1e-15:
            raise ScpiError(-221, f"{value:g} {UNITS[function]} beyond the {state.source_ranges[function]:g} "
                                  f"{UNITS[function]} range with auto range off")

    # -- the twin -----------------------------------------------------------------------

    def _drive_voltage_source(self) -> None:
        """V with current compliance I_c as the twin's current source: sign(V)·I_c into compliance |V|."""
        s = self.state
        volts, amps = s.voltage, abs(s.current_limit)
        if volts == 0 or amps == 0:
            self.call_twin(self.twin.set_current, 0.0)
            return
        self.call_twin(self.twin.set_compliance_voltage, abs(volts))
        self.call_twin(self.twin.set_current, math.copysign(amps, volts))

    def _apply_function(self, call: Call, state, function: str) -> None:
        if function == "CURR":
            self.call_twin(self.twin.set_compliance_voltage, abs(state.compliance))
            self.call_twin(self.twin.set_current, state.current)
        else:
            self._drive_voltage_source()

    def _apply_current(self, call: Call, state, value: float) -> None:
        if state.function == "CURR":
            self.call_twin(self.twin.set_current, value)

    def _apply_voltage(self, call: Call, state, value: float) -> None:
        if state.function == "VOLT":
            self._drive_voltage_source()

    def _apply_compliance(self, call: Call, state, value: float) -> None:
        if state.function == "CURR":
            self.call_twin(self.twin.set_compliance_voltage, abs(value))

    def _apply_current_limit(self, call: Call, state, value: float) -> None:
        if state.function == "VOLT":
            self._drive_voltage_source()

    def _apply_output(self, call: Call, state, on: bool) -> None:
        self.call_twin(self.twin.output_on if on else self.twin.output_off)

    # -- compliance and readings --------------------------------------------------------

    def _tripped(self, call: Call) -> str:
        """Voltage compliance of the current source (0 while sourcing voltage)."""
        call.count(0)
        s = self.state
        if s.function != "CURR":
            return "0"
        return "1" if twin_in_compliance(self, s.output, s.current, s.compliance) else "0"

    def _current_tripped(self, call: Call) -> str:
        """Current compliance of the voltage source: |V|/R beyond I_c (0 while sourcing current)."""
        call.count(0)
        s = self.state
        if s.function != "VOLT" or not s.output:
            return "0"
        ohms = twin_load(self)
        if ohms is None:
            in_voltage_limit = getattr(self.twin, "in_compliance", None)  # the twin's view: not limited by |V|
            return "0" if not callable(in_voltage_limit) or self.call_twin(in_voltage_limit) else "1"
        return "1" if ohms == 0 or abs(s.voltage) / ohms > abs(s.current_limit) else "0"

    def _current_reading(self, volts: float) -> float:
        s = self.state
        if s.function == "CURR":
            return self.call_twin(self.twin.get_current)
        ohms = twin_load(self)
        if ohms is None or ohms == 0:
            self.errors.push(ScpiError(-221, "the twin has no load resistance to read the current through"))
            return float("nan")
        return volts / ohms

    def _reading(self, call: Call) -> str:
        """The elements set, in order: VOLT measured by the twin, CURR the current source's level or
        (voltage source) the current through the twin's load; RES not measured."""
        call.count(0)
        volts = self.call_twin(self.twin.measure_voltage)
        values = {
            "VOLT": lambda: volts,
            "CURR": lambda: self._current_reading(volts),
            "RES": lambda: float("nan"),
            "TIME": lambda: time.monotonic() - self._started,
            "STAT": lambda: 0.0,
        }
        return ",".join(format_number(values[e]()) for e in self.state.elements)
