"""Fire one Gaussian field pulse per point and record the sample's S_z frames.

Roles: PulseGenerator, FrameSource. The pulse width t_w is the swept axis;
amplitude and delay are fixed per run. Frames are taken at
``frame_start + k·frame_interval`` after the trigger.
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from hil.procedure import Param, Procedure


def fire_pulse(bench: Any, amplitude: float, width: float, delay: float,
               times: Sequence[float]) -> Iterator[tuple[float, np.ndarray]]:
    """Fire one Gaussian pulse (V, s, s) and yield the camera's (t s, S_z frame) at ``times`` as they come.

    One process of the sample; the streaming producer publishes each frame
    the moment it is yielded.
    """
    pg = bench.pulse_generator
    pg.set_gaussian_pulse(amplitude, width, delay)
    pg.arm()
    pg.trigger()
    yield from bench.frame_source.frames(times)


class PulseFrames(Procedure):
    name = "pulse_frames"
    params = {
        "widths": Param(list, "8ps,28ps,40ps", "s", "Gaussian sigma t_w of each pulse"),
        "amplitude": Param(float, 5.0, "V", "pulse peak voltage (coil calibration turns it into tesla)"),
        "delay": Param(float, 40e-12, "s", "trigger to pulse centre, t_p"),
        "frame_start": Param(float, 0.0, "s", "first frame after the trigger"),
        "frame_interval": Param(float, 15e-12, "s", "time between frames"),
        "frame_count": Param(int, 8, "", "frames per pulse"),
    }

    def plan(self, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        return [{"width": w} for w in params["widths"]]

    def requests(self, point: Mapping[str, Any], params: Mapping[str, Any]):
        return [("pulse_generator", "set_gaussian_pulse", (params["amplitude"], point["width"], params["delay"]))]

    def prepare(self, bench: Any, params: Mapping[str, Any]) -> None:
        bench.pulse_generator.output_on()

    def measure(self, bench: Any, point: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
        times = params["frame_start"] + params["frame_interval"] * np.arange(params["frame_count"])
        stamps, frames = zip(*fire_pulse(bench, params["amplitude"], point["width"], params["delay"], times))
        frames = np.stack(frames)
        return {"times": np.asarray(stamps), "frames": frames, "mean_sz": frames.mean(axis=(1, 2))}
