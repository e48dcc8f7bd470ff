"""Measurement procedures, written against roles only.

``PROCEDURES`` maps a name to the dotted path of its class; ``hil run NAME``
looks it up here. Adding a procedure is one module and one line.
"""

PROCEDURES: dict[str, str] = {
    "bench_tour": "protocols.bench_tour.BenchTour",
    "bias_sweep": "protocols.bias_sweep.BiasSweep",
    "pulse_frames": "protocols.pulse_frames.PulseFrames",
    "chip_in_the_loop": "protocols.chip_in_the_loop.ChipInTheLoop",
    "device_response": "protocols.device_response.DeviceResponse",
}
