"""Multichannel DC sources: the QDevil QDAC-II (24 channels), the chip's weight DACs.

Read by the driver (``hil.drivers.qdevil_qdac2``) and the SCPI dialect
(``hil.sim.scpi.dialects.qdevil_qdac2``). The chip's weights twin
(``hil.sim.chip.ChipWeights``) is model-agnostic: its span and bits are its
own options, in calibrated units (the wiring sheet it shares with the dialect).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class DacSpec:
    key: str  # the dialect's registered name
    model: str
    idn: str
    options: str
    channels: int  # outputs, numbered from 1
    voltage: tuple[float, float]  # V, the widest output span
    spans: dict[str, float]  # output range name → ± V
    filters: dict[str, float]  # output filter name → corner frequency, Hz
    bits: int  # DAC codes over a range's span
    references: dict[str, str] = field(default_factory=dict)


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
