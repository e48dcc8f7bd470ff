"""The Keithley 6221's SCPI (DC current source), fronting any :class:`hil.roles.BiasSource`,
with the 2182A nanovoltmeter reached through its serial pass-through.

Setpoints go to the twin as they are set (the twin gates them with its own
output state): ``:SOUR:CURR`` → ``twin.set_current``, ``:SOUR:CURR:COMP`` →
``twin.set_compliance_voltage``, ``OUTP`` → ``twin.output_on/off``.
``:SYST:COMM:SER:SEND "<2182A command>"`` runs the command on a 2182A
dialect reading ``twin.measure_voltage``; ``:SYST:COMM:SER:ENT?`` returns
what the 2182A answered (empty when nothing is waiting).

Compliance: bit B3 of the measurement condition register
(``:STAT:MEAS:COND?``) is set while the twin is in compliance (its
``in_compliance()``, else computed from its load resistance); the event
register (``:STAT:MEAS?``, cleared by reading) latches it, and B9 (buffer
full) when a Delta test has filled the buffer.

Delta (6220/6221 Reference Manual, section 5): ``:SOUR:DELT:HIGH|LOW|DEL|COUN|CAB``,
``:SOUR:DELT:NVPR?`` (the twin's 2182A is always there), ``:SOUR:DELT:ARM``
(and ``ARM?``), ``:INIT:IMM`` runs the whole test on the twin at once (as the
analysers run a sweep): the twin is set to the high and low currents in turn,
output on, and read after each change; each reading is the 3-point moving
average of the manual's Delta process, (V₁ − 2V₂ + V₃)/4 with alternating
sign — on a resistive twin, R·(I_high − I_low)/2. The previous setpoint and
output state are restored after the test. Readings land in the buffer
(``:TRAC:POIN``, ``:TRAC:POIN:ACT?``, ``:TRAC:CLE``, ``:TRAC:DATA?`` with the
``:FORM:ELEM`` elements READ, TST, RNUM, SOUR, COMP) in the ``:UNIT:VOLT:DC``
unit (V, OHMS, W, SIEM); timestamps step by delay + the 2182A's NPLC at 50 Hz.
Compliance abort (``CAB ON``) ends the test at the first reading in compliance.
``:SOUR:SWE:ABOR`` disarms.
"""

from __future__ import annotations

import math

from hil.instruments import KEITHLEY_6221 as SPEC
from hil.roles import BiasSource
from hil.sim.scpi.dialect import (Call, Dialect, choice, flag, format_number, method, number, range_query,
                                  range_setting, twin_in_compliance)
from hil.sim.scpi.errors import ScpiError

DELTA = SPEC.delta
#: FORMat:ELEMents the twin sends (UNITs and AVOLtage are not modelled).
ELEMENTS = ("READing", "TSTamp", "RNUMber", "SOURce", "COMPliance")
LINE_FREQUENCY = 50.0  # Hz, for the 2182A's conversion time in the Delta timestamps


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


class Keithley6221Dialect(Dialect, spec=SPEC):
    """Source ranges as on the instrument: ``:SOUR:CURR:RANG <A>`` picks the smallest fixed range
    that holds the value; with auto range off (the ``*RST`` state, on the 2 mA range) a setpoint
    beyond the range is refused (-221) and the output keeps its value; ``:SOUR:CURR:RANG:AUTO ON``
    ranges for every setpoint."""

    role = BiasSource

    COMMANDS = (
        number("[:SOURce]:CURRent[:LEVel][:IMMediate][:AMPLitude]", "current", SPEC.current, unit="A",
               check="_check_range", apply="_apply_current"),
        number("[:SOURce]:CURRent:COMPliance", "compliance", SPEC.compliance, unit="V", apply="_apply_compliance"),
        flag("[:SOURce]:CURRent:RANGe:AUTO", "auto_range"),
        method("[:SOURce]:CURRent:RANGe", "_range"),
        flag(":OUTPut[:STATe]", "output", apply="_apply_output"),
        method(":SYSTem:COMMunicate:SERial:SEND", "_serial_send", query=False),
        method(":SYSTem:COMMunicate:SERial:ENTer", "_serial_enter", write=False),
        # status
        method(":STATus:MEASurement:CONDition", "_measurement_condition", write=False),
        method(":STATus:MEASurement[:EVENt]", "_measurement_event", write=False),
        number(":STATus:MEASurement:ENABle", "measurement_enable", (0, 65535), integer=True),
        method(":STATus:PRESet", "_status_preset", query=False),
        method(":STATus:QUEue:CLEar", "_queue_clear", query=False),
        # Delta
        number("[:SOURce]:DELTa:HIGH", "delta_high", DELTA.high, unit="A", apply="_apply_delta_high"),
        number("[:SOURce]:DELTa:LOW", "delta_low", DELTA.low, unit="A"),
        number("[:SOURce]:DELTa:DELay", "delta_delay", DELTA.delay, unit="S"),
        method("[:SOURce]:DELTa:COUNt", "_delta_count"),
        flag("[:SOURce]:DELTa:CABort", "delta_abort_on_compliance"),
        flag("[:SOURce]:DELTa:CSWitch", "delta_cold_switch"),
        method("[:SOURce]:DELTa:NVPResent", "_voltmeter_present", write=False),
        method("[:SOURce]:DELTa:ARM", "_delta_arm"),
        method(":INITiate[:IMMediate]", "_initiate", query=False),
        method("[:SOURce]:SWEep:ABORt", "_sweep_abort", query=False),
        number("[:SOURce]:SWEep:COUNt", "sweep_count", (1, 65536), integer=True),
        choice(":UNIT[:VOLTage][:DC]", "unit", ("V", "OHMS", "W", "SIEMens")),
        method(":FORMat:ELEMents", "_elements"),
        number(":TRACe:POINts", "buffer_size", DELTA.buffer, integer=True),
        method(":TRACe:POINts:ACTual", "_buffer_count", write=False),
        method(":TRACe:CLEar", "_buffer_clear", query=False),
        method(":TRACe:DATA", "_buffer_data", write=False),
        method(":TRACe:DATA:TYPE", "_buffer_type", write=False),
        method("[:SENSe#]:DATA[:LATest]", "_latest", write=False),
        method("[:SENSe#]:DATA:FRESh", "_latest", write=False),
    )

    def reset(self) -> None:
        s = self.state
        s.current, s.compliance, s.auto_range, s.range, s.output = 0.0, 10.0, False, 2e-3, False
        s.delta_high, s.delta_low, s.delta_delay, s.delta_count = 1e-3, -1e-3, 2e-3, 65536
        s.delta_abort_on_compliance, s.delta_cold_switch, s.sweep_count = False, False, 1
        s.unit = "V"
        s.elements = ["READ", "TST"]
        self.delta_armed = False
        self.voltmeter = Keithley2182ADialect(self.twin)
        self.serial_buffer: list[bytes] = []
        self.sync_twin(self.twin.output_off)
        self.sync_twin(self.twin.set_current, 0.0)
        self.sync_twin(self.twin.set_compliance_voltage, s.compliance)
        if not hasattr(self, "buffer"):  # SYSTem:PRESet and *RST leave the buffer alone (Table 6-4, note 1)
            s.buffer_size = 100
            self.buffer: list[tuple[float, float, float, bool]] = []  # (reading, time s, source A, compliance)
            self.buffer_type = "NONE"
            self.event = 0  # the latched measurement events
            s.measurement_enable = 0

    def _check_range(self, state, attr: str, value: float) -> None:
        if not state.auto_range and abs(value) > state.range * SPEC.overrange + 1e-15:
            raise ScpiError(-221, f"{value:g} A beyond the {state.range:g} A range with auto range off "
                                  "(:SOUR:CURR:RANG or :SOUR:CURR:RANG:AUTO ON first)")

    def _range(self, call: Call) -> str | None:
        if call.query:
            return range_query(call, SPEC.current_ranges, self.state.range)
        chosen = range_setting(call, SPEC.current_ranges, "A", SPEC.overrange)
        if abs(self.state.current) > chosen * SPEC.overrange:
            raise ScpiError(-221, f"the setpoint {self.state.current:g} A does not fit the {chosen:g} A range")
        self.state.range = chosen
        return None

    def _apply_current(self, call: Call, state, value: float) -> None:
        self.call_twin(self.twin.set_current, value)
        self._latch()

    def _apply_compliance(self, call: Call, state, value: float) -> None:
        self.call_twin(self.twin.set_compliance_voltage, value)
        self._latch()

    def _apply_output(self, call: Call, state, on: bool) -> None:
        self.call_twin(self.twin.output_on if on else self.twin.output_off)
        self._latch()

    # -- status -------------------------------------------------------------------

    def _in_compliance(self) -> bool:
        s = self.state
        return twin_in_compliance(self, s.output, s.current, s.compliance)

    def _condition(self) -> int:
        bits = SPEC.compliance_bit if self._in_compliance() else 0
        if self.buffer and len(self.buffer) >= self.state.buffer_size:
            bits |= SPEC.buffer_full_bit
        return bits

    def _latch(self) -> None:
        self.event |= self._condition()

    def _measurement_condition(self, call: Call) -> str:
        call.count(0)
        return str(self._condition())

    def _measurement_event(self, call: Call) -> str:
        """The latched events (and what holds now); reading clears them."""
        call.count(0)
        events, self.event = self.event | self._condition(), 0
        return str(events)

    def _status_preset(self, call: Call) -> None:
        call.count(0)
        self.state.measurement_enable = 0

    def _queue_clear(self, call: Call) -> None:
        call.count(0)
        self.errors.clear()

    # -- Delta ----------------------------------------------------------------------

    def _apply_delta_high(self, call: Call, state, value: float) -> None:
        state.delta_low = -value  # as on the instrument: HIGH sets LOW to −HIGH

    def _delta_count(self, call: Call) -> str | None:
        if call.query:
            call.count(0)
            return format_number(self.state.delta_count)
        call.count(1)
        if call.text(0).upper() in ("INF", "INFINITY"):
            raise ScpiError(-221, "the twin runs a finite Delta count (1 to 65536)")
        value = call.number(0, None, DELTA.count)
        if value != round(value) or not DELTA.count[0] <= value <= DELTA.count[1]:
            raise ScpiError(-222, f"Delta count {call.text(0)} outside {DELTA.count[0]} to {DELTA.count[1]}")
        self.state.delta_count = int(value)
        return None

    def _voltmeter_present(self, call: Call) -> str:
        call.count(0)
        return "1"

    def _delta_arm(self, call: Call) -> str | None:
        call.count(0)
        if call.query:
            return "1" if self.delta_armed else "0"
        self.delta_armed = True
        return None

    def _sweep_abort(self, call: Call) -> None:
        call.count(0)
        self.delta_armed = False

    def _initiate(self, call: Call) -> None:
        call.count(0)
        if not self.delta_armed:
            raise ScpiError(-221, "nothing armed to start (:SOUR:DELT:ARM first)")
        s = self.state
        levels = [s.delta_high if k % 2 == 0 else s.delta_low for k in range(s.delta_count + 2)]
        volts, complied = self._run_levels(levels)
        step = s.delta_delay + self.voltmeter.state.nplc / LINE_FREQUENCY
        readings = []
        for k in range(len(volts) - 2):
            delta = (-1) ** k * (volts[k] - 2 * volts[k + 1] + volts[k + 2]) / 4
            source = levels[k]
            readings.append((self._in_unit(delta, s.delta_high), k * step, source, complied[k + 2]))
        self.buffer = readings[:s.buffer_size]
        self.buffer_type = "DELT"
        self._latch()
        if any(c for *_, c in self.buffer):
            self.event |= SPEC.compliance_bit

    def _run_levels(self, levels: list[float]) -> tuple[list[float], list[bool]]:
        """Each level on the twin in turn (output on), read after each; the setpoint and output
        state are restored after. Compliance abort stops at the first level in compliance."""
        s = self.state
        before = (s.current, s.output)
        volts: list[float] = []
        complied: list[bool] = []
        try:
            self.call_twin(self.twin.output_on)
            s.output = True
            for level in levels:
                self.call_twin(self.twin.set_current, level)
                s.current = level
                volts.append(float(self.call_twin(self.twin.measure_voltage)))
                complied.append(self._in_compliance())
                if complied[-1] and s.delta_abort_on_compliance:
                    break
        finally:
            s.current, s.output = before
            self.sync_twin(self.twin.set_current, s.current)
            if not s.output:
                self.sync_twin(self.twin.output_off)
        return volts, complied

    def _in_unit(self, volts: float, amps: float) -> float:
        unit = self.state.unit
        if unit == "V":
            return volts
        if unit == "OHMS":
            return volts / amps if amps else math.nan
        if unit == "W":
            return volts * amps
        return amps / volts if volts else math.nan  # SIEMens

    def _elements(self, call: Call) -> str | None:
        if call.query:
            call.count(0)
            return ",".join(self.state.elements)
        call.count(1, len(ELEMENTS))
        words = [call.text(i).upper() for i in range(len(call.args))]
        if words in (["DEF"], ["DEFAULT"]):
            self.state.elements = ["READ", "TST"]
            return None
        self.state.elements = [call.word(i, ELEMENTS) for i in range(len(call.args))]
        return None

    def _buffer_count(self, call: Call) -> str:
        call.count(0)
        return str(len(self.buffer))

    def _buffer_clear(self, call: Call) -> None:
        call.count(0)
        self.buffer, self.buffer_type = [], "NONE"

    def _buffer_type(self, call: Call) -> str:
        call.count(0)
        return self.buffer_type

    def _buffer_data(self, call: Call) -> str:
        """Every stored reading, the elements set in order; an empty buffer queues -230 and answers
        nothing but the terminator (the client does not wait for a timeout)."""
        call.count(0)
        if not self.buffer:
            self.errors.push(ScpiError(-230, "the buffer is empty"))
            return ""
        fields = []
        for number_, (reading, stamp, source, complied) in enumerate(self.buffer):
            values = {"READ": reading, "TST": stamp, "RNUM": float(number_), "SOUR": source,
                      "COMP": 1.0 if complied else 0.0}
            fields.extend(format_number(values[e]) for e in self.state.elements)
        return ",".join(fields)

    def _latest(self, call: Call) -> str:
        call.count(0)
        if not self.buffer:
            raise ScpiError(-221, "no Delta reading (Delta not run)")
        return format_number(self.buffer[-1][0])

    def _serial_send(self, call: Call) -> None:
        call.count(1)
        reply = self.voltmeter.execute(call.string(0).encode("ascii"))
        if reply is not None:
            self.serial_buffer.append(reply.rstrip(b"\n"))

    def _serial_enter(self, call: Call) -> bytes:
        call.count(0)
        return self.serial_buffer.pop(0) if self.serial_buffer else b""
