"""Bias an oscillator through a list of currents; read its voltage, spectrum and power trace.

Roles: BiasSource, SpectrumAnalyser. Each point: ramp to the current, let the
device settle, read back the voltage, take one swept spectrum around the
expected line and one zero-span trace at the strongest bin.
"""

from __future__ import annotations

import time
from typing import Any, Mapping

import numpy as np

from hil.procedure import Param, Procedure


class BiasSweep(Procedure):
    name = "bias_sweep"
    params = {
        "currents": Param(list, "0:3mA:4", "A", "bias currents, '1mA,2mA' or start:stop:count '0:3mA:4'"),
        "compliance": Param(float, 2.0, "V", "compliance voltage of the source"),
        "centre": Param(float, 4.5e9, "Hz", "spectrum centre"),
        "span": Param(float, 1.0e9, "Hz", "spectrum span"),
        "rbw": Param(float, 1.0e6, "Hz", "resolution bandwidth"),
        "vbw": Param(float, 1.0e5, "Hz", "video bandwidth (smooths the noise floor)"),
        "points": Param(int, 401, "", "trace points"),
        "zero_span_time": Param(float, 1e-6, "s", "duration of the zero-span trace"),
        "settle": Param(float, 0.0, "s", "wall-clock wait after each current step (real benches)"),
    }

    def plan(self, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        return [{"current": c} for c in params["currents"]]

    def requests(self, point: Mapping[str, Any], params: Mapping[str, Any]):
        return [("bias_source", "set_compliance_voltage", (params["compliance"],)),
                ("bias_source", "set_current", (point["current"],))]

    def prepare(self, bench: Any, params: Mapping[str, Any]) -> None:
        bench.bias_source.set_compliance_voltage(params["compliance"])
        bench.bias_source.output_on()
        bench.spectrum_analyser.configure_sweep(
            params["centre"], params["span"], params["rbw"], params["vbw"], params["points"])

    def measure(self, bench: Any, point: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
        bias, sa = bench.bias_source, bench.spectrum_analyser
        bias.ramp_current(point["current"], step=5e-4)
        if params["settle"]:
            time.sleep(params["settle"])
        voltage = bias.measure_voltage()
        sa.configure_sweep(params["centre"], params["span"], params["rbw"], params["vbw"], params["points"])
        freq, power = sa.sweep()
        peak = int(np.argmax(power))
        t, zs = sa.zero_span(float(freq[peak]), params["rbw"], params["zero_span_time"], 101)
        return {
            "voltage": voltage,
            "frequency": freq,
            "power_dbm": power,
            "peak_frequency": float(freq[peak]),
            "peak_power_dbm": float(power[peak]),
            "zero_span_time": t,
            "zero_span_dbm": zs,
        }
