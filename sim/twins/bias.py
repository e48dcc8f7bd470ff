"""A current source (Keithley 6221-like) biasing one oscillator of an oscillator sample."""

from __future__ import annotations

from hil.roles import CurrentDrivenSample
from sim.twins.base import TwinInstrument


class SimBiasSource(TwinInstrument):
    """Sources a DC current into oscillator ``oscillator`` of ``sample``.

    Like the real source: the setpoint is quantised to ``resolution`` A, an
    out-of-range setpoint raises (never clamped), and in compliance the
    output is voltage-limited — the delivered current is V_comp / R and the
    voltage reads back as V_comp.
    """

    def __init__(
        self,
        sample: CurrentDrivenSample,
        oscillator: int = 0,
        max_current: float = 0.105,
        resolution: float = 1e-9,
        compliance_voltage: float = 10.0,
    ):
        super().__init__()
        if not 0 <= oscillator < sample.n_oscillators:
            raise ValueError(f"oscillator {oscillator} not on this sample (0..{sample.n_oscillators - 1})")
        self.sample = sample
        self.oscillator = oscillator
        self.max_current = max_current
        self.resolution = resolution
        self.compliance = compliance_voltage
        self.setpoint = 0.0
        self.output = False

    def _apply(self) -> None:
        self.sample.set_bias(self.oscillator, self.delivered_current() if self.output else 0.0)

    def delivered_current(self) -> float:
        """The current that actually flows (A): the setpoint unless in compliance."""
        r = self.sample.resistance(self.oscillator)
        limit = self.compliance / r
        return max(-limit, min(limit, self.setpoint))

    def in_compliance(self) -> bool:
        return self.output and abs(self.setpoint) * self.sample.resistance(self.oscillator) > self.compliance

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
        if not self.output:
            return 0.0
        return self.delivered_current() * self.sample.resistance(self.oscillator)

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
