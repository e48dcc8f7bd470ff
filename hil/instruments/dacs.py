"""Multichannel DC sources: the QDevil QDAC-II (24 channels), the chip's weight DACs.

Read by the driver (``hil.drivers.qdevil_qdac2``) and the SCPI dialect
(``hil.sim.scpi.dialects.qdevil_qdac2``). The chip's weights twin
(``hil.sim.chip.ChipWeights``) is model-agnostic: its span and bits are its
own options, in calibrated units (the wiring sheet it shares with the dialect).

The weights layout — which arrays a network's trainable parameters form
(:func:`weight_shapes`) and in which order they sit on DAC channels
(:data:`WEIGHT_KINDS`, then layer by layer, row-major; :func:`channel_weights`)
— is written here once, for the driver, the dialect and the chip twin.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from hil.instruments.spec import InstrumentSpec

#: The kinds of trainable parameter, in the order their channels follow each other.
WEIGHT_KINDS = ("w_ext", "w_int", "bias")
Shapes = dict[str, tuple[tuple[int, ...], ...]]


def weight_shapes(hidden: Sequence[int], n_in: int) -> Shapes:
    """Each kind's arrays, layer by layer: ``w_ext[l]`` (n_l, fan_in) — fan_in is ``n_in``, then the
    layer below —, ``w_int[l]`` (n_l, n_l), ``bias[l]`` (n_l,). Sizes below 1 raise ValueError."""
    hidden = tuple(int(n) for n in hidden)
    if not hidden or min(hidden) < 1 or int(n_in) < 1:
        raise ValueError(f"hidden layer sizes and n_in must be >= 1, got {hidden}, {n_in}")
    fans = (int(n_in),) + hidden[:-1]
    return {"w_ext": tuple((n, f) for n, f in zip(hidden, fans)),
            "w_int": tuple((n, n) for n in hidden),
            "bias": tuple((n,) for n in hidden)}


def parameter_count(shapes: Shapes) -> int:
    """How many parameters, hence DAC channels, the arrays of ``shapes`` hold."""
    return sum(math.prod(shape) for kind in WEIGHT_KINDS for shape in shapes[kind])


def channel_weights(volts: Sequence[float], shapes: Shapes,
                    volts_per_unit: Mapping[str, float]) -> dict[str, list[np.ndarray]]:
    """The parameters' channel voltages, in channel order (:data:`WEIGHT_KINDS`, then layer by layer,
    row-major) → each kind's arrays in calibrated units (volts / volts per unit of the kind)."""
    volts = np.asarray(volts, dtype=float)
    weights: dict[str, list[np.ndarray]] = {}
    i = 0
    for kind in WEIGHT_KINDS:
        weights[kind] = []
        for shape in shapes[kind]:
            n = math.prod(shape)
            weights[kind].append(volts[i:i + n].reshape(shape) / volts_per_unit[kind])
            i += n
    return weights


@dataclass(frozen=True)
class DacSpec(InstrumentSpec):
    channels: int  # outputs, numbered from 1
    voltage: tuple[float, float]  # V, the widest output span
    spans: dict[str, float]  # output range name → ± V
    filters: dict[str, float]  # output filter name → corner frequency, Hz
    bits: int  # DAC codes over a range's span


_QC = "QCoDeS_contrib_drivers drivers/QDevil/QDAC2.py (hardware-tested)"
QDEVIL_QDAC2 = DacSpec(
    key="qdevil_qdac2",
    model="QDAC-II",
    idn="QDevil, QDAC-II, TWIN000001, 13-1.57",
    options="0",
    channels=24,
    voltage=(-10.0, 10.0),
    spans={"high": 10.0, "low": 2.0},
    filters={"dc": 10.0, "med": 10e3, "high": 300e3},
    bits=25,
    references={
        "channels": f"{_QC}: _set_up_channels makes channels 1 to 24",
        "sour{ch}:volt": f"{_QC}: dc_constant_V writes 'sour{{ch}}:volt:mode fix' then 'sour{{ch}}:volt <V>', "
                         "reads 'sour{ch}:volt?', validator -10 to 10 V",
        "sour{ch}:rang": f"{_QC}: output_range 'sour{{ch}}:rang low|high'; the limits of each range are the "
                         "instrument's answer to 'sour{ch}:rang:low:min?/max?' and 'rang:high:min?/max?'. "
                         "High ±10 V agrees with the validator above; low ±2 V is QDevil's product "
                         "documentation, not settled by the driver (it reads the limits, it does not state them)",
        "sour{ch}:filt": f"{_QC}: output_filter 'sour{{ch}}:filt dc|med|high'; output_mode's docstring: DC "
                         "10 Hz, medium 10 kHz, high 300 kHz",
        "bits": "QDevil's QDAC-II product documentation (25-bit output resolution); not settled by a "
                "hardware-tested driver (QCoDeS sends the voltage and the instrument rounds it)",
    },
)
