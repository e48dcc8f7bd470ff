"""Drive a device with a random input sequence and record input and output traces.

The training data of a Spin-Neural ODE. Two drives, each through roles only:

- ``field``: PulseGenerator + FrameSource. A sine of ``frequency`` along the
  coil whose amplitude is drawn anew (uniform in [``amplitude_min``,
  ``amplitude_max``] T) every period, uploaded as an arbitrary waveform at
  ``awg_rate`` Sa/s through the coil calibration ``tesla_per_volt``; one
  trigger per record, S_z frames every ``sample_interval`` s, output ``mz``
  (mean S_z). Inputs recorded: ``field`` (T, the programmed waveform at the
  frame times) and ``voltage`` (V).
- ``current``: BiasSource + SpectrumAnalyser. The bias current is drawn anew
  (uniform in [``current_min``, ``current_max``] A) every ``hold`` s; the
  analyser's zero-span trace at ``frequency`` over each hold gives the
  output ``power_dbm``. Consecutive holds are joined into one time axis: the
  last point of each sweep is the first of the next, so it is dropped. On a
  real bench the dead time between sweeps (setting the current) is not in
  the trace; on the twins there is none. ``settle`` unrecorded holds at the
  first current come first, so a trace does not begin with a start-up from rest.

Each record is one trace of ``points`` samples with a ``time`` axis (s) and a
JSON ``units`` attribute naming the unit of every trace.
"""

from __future__ import annotations

import json
import math
from typing import Any, Mapping

import numpy as np

from hil.errors import HilError
from hil.procedure import Param, Procedure

DRIVES = ("field", "current")


def period_amplitudes(rng: np.random.Generator, n_periods: int, low: float, high: float) -> np.ndarray:
    """One amplitude per sine period, uniform in [low, high]."""
    return rng.uniform(low, high, n_periods)


def sine_drive(times: np.ndarray, amplitudes: np.ndarray, frequency: float) -> np.ndarray:
    """a_k·sin(2πft) with a_k the amplitude of the period holding t; zero after the last period.

    Amplitudes change at the sine's zero crossings, so the drive stays continuous.
    """
    times = np.asarray(times, dtype=float)
    k = np.floor(times * frequency + 1e-9).astype(int)
    inside = (k >= 0) & (k < len(amplitudes))
    a = np.where(inside, np.asarray(amplitudes)[np.clip(k, 0, len(amplitudes) - 1)], 0.0)
    return a * np.sin(2 * np.pi * frequency * times)


class DeviceResponse(Procedure):
    name = "device_response"
    params = {
        "drive": Param(str, "field", "", "'field' (pulse generator + frames) or 'current' (bias source + analyser)"),
        "records": Param(int, 10, "", "traces to record (one trigger / one drive sequence each)"),
        "points": Param(int, 1000, "", "samples per trace"),
        "seed": Param(int, 0, "", "seed of the random input sequence (record i uses seed + i)"),
        # field drive
        "sample_interval": Param(float, 2.5e-12, "s", "field: time between frames"),
        "frequency": Param(float, 4.0e9, "Hz", "field: sine frequency; current: zero-span frequency"),
        "amplitude_min": Param(float, 0.05, "T", "field: smallest sine amplitude"),
        "amplitude_max": Param(float, 0.3, "T", "field: largest sine amplitude (keep below switching / collapse)"),
        "tesla_per_volt": Param(float, 0.4, "T/V", "field: coil calibration"),
        "awg_rate": Param(float, 80e9, "Sa/s", "field: waveform sample rate"),
        # current drive
        "current_min": Param(float, 1.2e-3, "A", "current: smallest bias"),
        "current_max": Param(float, 3.0e-3, "A", "current: largest bias"),
        "hold": Param(float, 1e-6, "s", "current: how long each bias is held (one zero-span sweep)"),
        "points_per_hold": Param(int, 200, "", "current: samples per hold"),
        "rbw": Param(float, 8e6, "Hz", "current: resolution bandwidth of the zero-span trace"),
        "compliance": Param(float, 2.0, "V", "current: compliance voltage"),
        "settle": Param(int, 1, "", "current: holds at the first bias before recording, so a trace starts settled"),
    }

    def plan(self, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        if params["drive"] not in DRIVES:
            raise HilError(f"drive must be one of {', '.join(DRIVES)}, got {params['drive']!r}")
        if params["records"] < 1 or params["points"] < 2:
            raise HilError("device_response needs records ≥ 1 and points ≥ 2")
        if params["drive"] == "current" and params["points"] % params["points_per_hold"]:
            raise HilError(f"points ({params['points']}) must be a multiple of points_per_hold "
                           f"({params['points_per_hold']}); change one of them")
        return [{"seed": params["seed"] + i} for i in range(params["records"])]

    def requests(self, point: Mapping[str, Any], params: Mapping[str, Any]):
        """The drive's extremes: the largest field (as volts) or both bias bounds and the compliance."""
        if params["drive"] == "field":
            peak = params["amplitude_max"] / params["tesla_per_volt"]
            return [("pulse_generator", "set_arbitrary_pulse", (np.array([0.0, peak]), params["awg_rate"]))]
        return [("bias_source", "set_compliance_voltage", (params["compliance"],)),
                ("bias_source", "set_current", (params["current_min"],)),
                ("bias_source", "set_current", (params["current_max"],))]

    def prepare(self, bench: Any, params: Mapping[str, Any]) -> None:
        if params["drive"] == "field":
            bench.pulse_generator.output_on()
        else:
            bench.bias_source.set_compliance_voltage(params["compliance"])
            bench.bias_source.output_on()

    def measure(self, bench: Any, point: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
        rng = np.random.default_rng(point["seed"])
        if params["drive"] == "field":
            return self._field(bench, rng, params)
        return self._current(bench, rng, params)

    @staticmethod
    def _field(bench: Any, rng: np.random.Generator, params: Mapping[str, Any]) -> dict[str, Any]:
        n, dt, f = params["points"], params["sample_interval"], params["frequency"]
        times = dt * np.arange(n)
        amplitudes = period_amplitudes(rng, math.ceil(times[-1] * f) + 1, params["amplitude_min"],
                                       params["amplitude_max"])
        rate = params["awg_rate"]
        awg_t = np.arange(math.ceil(times[-1] * rate) + 2) / rate
        volts = sine_drive(awg_t, amplitudes, f) / params["tesla_per_volt"]
        pg = bench.pulse_generator
        pg.set_arbitrary_pulse(volts, rate)
        pg.arm()
        pg.trigger()
        stamps, mz = [], []
        for t, frame in bench.frame_source.frames(times):
            stamps.append(t)
            mz.append(float(np.mean(frame, dtype=np.float64)))
        v = np.interp(times, awg_t, volts)  # what the generator plays between its samples
        units = {"time": "s", "field": "T", "voltage": "V", "mz": "1", "amplitudes": "T"}
        return {"time": np.asarray(stamps), "field": v * params["tesla_per_volt"], "voltage": v,
                "mz": np.asarray(mz), "amplitudes": amplitudes, "units": json.dumps(units)}

    @staticmethod
    def _current(bench: Any, rng: np.random.Generator, params: Mapping[str, Any]) -> dict[str, Any]:
        per, hold = params["points_per_hold"], params["hold"]
        currents = rng.uniform(params["current_min"], params["current_max"], params["points"] // per)
        bias, sa = bench.bias_source, bench.spectrum_analyser
        bias.set_current(float(currents[0]))
        for _ in range(params["settle"]):
            sa.zero_span(params["frequency"], params["rbw"], hold, per + 1)
        t_all, i_all, p_all = [], [], []
        for k, current in enumerate(currents):
            bias.set_current(float(current))
            t, dbm = sa.zero_span(params["frequency"], params["rbw"], hold, per + 1)
            t_all.append(k * hold + t[:-1])
            i_all.append(np.full(per, current))
            p_all.append(dbm[:-1])
        units = {"time": "s", "current": "A", "power_dbm": "dBm", "currents": "A"}
        return {"time": np.concatenate(t_all), "current": np.concatenate(i_all),
                "power_dbm": np.concatenate(p_all), "currents": currents, "units": json.dumps(units)}
