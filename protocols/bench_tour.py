"""The demo: every role of a bench in one run.

Each point biases the oscillator (BiasSource), reads its line (SpectrumAnalyser)
and fires a field pulse of one width at the skyrmion sample (PulseGenerator)
while recording its S_z (FrameSource). The two halves are the bias_sweep and
pulse_frames procedures; this one just runs them point by point together.
"""

from __future__ import annotations

from typing import Any, Mapping

from hil.procedure import Param, Procedure
from hil.protocols.bias_sweep import BiasSweep
from hil.protocols.pulse_frames import PulseFrames


class BenchTour(Procedure):
    name = "bench_tour"
    _parts = (BiasSweep(), PulseFrames())
    params = {
        **BiasSweep.params,
        **PulseFrames.params,
        "currents": Param(list, "1.5mA,2.5mA,3.5mA", "A", "one bias current per point"),
    }

    def _split(self, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        return [{k: params[k] for k in part.params} for part in self._parts]

    def plan(self, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        bias_points, pulse_points = (part.plan(p) for part, p in zip(self._parts, self._split(params)))
        if len(bias_points) != len(pulse_points):
            raise ValueError(
                f"bench_tour pairs currents with widths: got {len(bias_points)} currents "
                f"and {len(pulse_points)} widths")
        return [{**b, **p} for b, p in zip(bias_points, pulse_points)]

    def prepare(self, bench: Any, params: Mapping[str, Any]) -> None:
        for part, p in zip(self._parts, self._split(params)):
            part.prepare(bench, p)

    def measure(self, bench: Any, point: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
        record: dict[str, Any] = {}
        for part, p in zip(self._parts, self._split(params)):
            record.update(part.measure(bench, point, p))
        return record
