"""Current sources (Keithley 6221-like) driving a simulated load.

:class:`CurrentSourceTwin` is the instrument — range, resolution, compliance,
output relay — and knows its load only through two hooks: the load's
resistance and how a delivered current reaches it. :class:`SimBiasSource`
biases one oscillator of an oscillator sample; the chip's rail source
(``hil.sim.chip.twins.ChipBiasSource``) is the same instrument on another load.

Served over SCPI, the twin also plays the modes a dialect builds from the role
methods: a Keithley 2400 sourcing voltage (a voltage V with current compliance
I_c and a current sign(V)·I_c with voltage compliance |V| give a resistive load
the same operating point; the current is read through :meth:`load_resistance`),
and a 6221's Delta test (the two currents in turn, the voltage read after each:
on a resistive load the Delta reading is R·(I_high − I_low)/2).
"""

from __future__ import annotations

from hil.instruments import KEITHLEY_6221
from hil.roles import CurrentDrivenSample
from hil.sim.twins.base import TwinInstrument


class CurrentSourceTwin(TwinInstrument):
    """A DC current source with voltage compliance, behaving like the real one.

    The setpoint is quantised to ``resolution`` A, an out-of-range setpoint
    raises (never clamped), and in compliance the output is voltage-limited:
    the delivered current is V_comp / R and the voltage reads back as V_comp.
    Subclasses say what the load is: :meth:`_resistance` and :meth:`_drive`.
    """

    def __init__(self, max_current: float = KEITHLEY_6221.current[1], resolution: float = 1e-9,
                 compliance_voltage: float = 10.0):
        super().__init__()
        self.max_current = float(max_current)
        self.resolution = float(resolution)
        self.compliance = float(compliance_voltage)
        self.setpoint = 0.0
        self.output = False

    # -- the load ---------------------------------------------------------------
    def _resistance(self) -> float:
        """Load resistance in ohm."""
        raise NotImplementedError

    def _drive(self, current: float) -> None:
        """Make ``current`` A flow in the load."""
        raise NotImplementedError

    # -- the instrument ---------------------------------------------------------
    def _apply(self) -> None:
        self._drive(self.delivered_current())

    def delivered_current(self) -> float:
        """The current that actually flows (A): 0 with the output off, else the setpoint unless in compliance."""
        if not self.output:
            return 0.0
        limit = self.compliance / self._resistance()
        return max(-limit, min(limit, self.setpoint))

    def in_compliance(self) -> bool:
        return self.output and abs(self.setpoint) * self._resistance() > self.compliance

    def load_resistance(self) -> float:
        """The load's resistance in ohm (twin-side: what a dialect reads a current through,
        e.g. a 2400 sourcing voltage, and what a 6221's Delta test measures)."""
        return float(self._resistance())

    def set_current(self, current: float) -> None:
        self._log("set_current", current)
        if abs(current) > self.max_current:
            raise ValueError(f"current {current:g} A outside the source range ±{self.max_current:g} A")
        self.setpoint = round(current / self.resolution) * self.resolution
        self._apply()

    def get_current(self) -> float:
        self._log("get_current")
        return self.setpoint

    def set_compliance_voltage(self, voltage: float) -> None:
        self._log("set_compliance_voltage", voltage)
        if not 0 < voltage <= 105.0:
            raise ValueError(f"compliance {voltage:g} V outside (0, 105] V")
        self.compliance = float(voltage)
        self._apply()

    def measure_voltage(self) -> float:
        self._log("measure_voltage")
        return self.delivered_current() * self._resistance()

    def output_on(self) -> None:
        self._log("output_on")
        self.output = True
        self._apply()

    def output_off(self) -> None:
        self._log("output_off")
        self.output = False
        self._apply()

    def shutdown(self) -> None:
        super().shutdown()
        self.output = False
        self._apply()


class SimBiasSource(CurrentSourceTwin):
    """Sources a DC current into oscillator ``oscillator`` of ``sample``."""

    def __init__(
        self,
        sample: CurrentDrivenSample,
        oscillator: int = 0,
        max_current: float = KEITHLEY_6221.current[1],
        resolution: float = 1e-9,
        compliance_voltage: float = 10.0,
    ):
        if not 0 <= oscillator < sample.n_oscillators:
            raise ValueError(f"oscillator {oscillator} not on this sample (0..{sample.n_oscillators - 1})")
        super().__init__(max_current, resolution, compliance_voltage)
        self.sample = sample
        self.oscillator = oscillator

    def _resistance(self) -> float:
        return self.sample.resistance(self.oscillator)

    def _drive(self, current: float) -> None:
        self.sample.set_bias(self.oscillator, current)
