"""The QDevil QDAC-II's SCPI (24 DC channels), fronting a :class:`hil.roles.Weights` twin.

What the driver (``hil.drivers.qdevil_qdac2``) and QCoDeS use:
``sour{ch}:volt[?]``, ``sour{ch}:volt:mode fix|swe|list``, ``sour{ch}:rang
low|high``, ``sour{ch}:filt dc|med|high``. Each channel holds a voltage on the
DAC's grid: 2^25 codes over its range (±10 V high, ±2 V low); a setting is
rounded to the nearest code, so ``sour{ch}:volt?`` answers what the output
really is. Out of the range → -222, unchanged.

The twin behind it speaks calibrated weights; the lab's wiring sheet (which
channel drives which parameter, volts per unit) is the twin's
(``ChipWeights(dac_channels=..., volts_per_unit=...)``, its
``dac_calibration()``), as the physical chip's wiring is the chip's. Every
voltage change is applied at once (set_weights, settle) — a QDAC-II output
follows its setting, through its filter. Channels, spans and bits:
:data:`hil.instruments.QDEVIL_QDAC2`, the driver's too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hil.instruments import QDEVIL_QDAC2 as SPEC
from hil.instruments.dacs import channel_weights
from hil.roles import Weights
from hil.sim.scpi.dialect import Call, Dialect, choice, number
from hil.sim.scpi.errors import ScpiError

N_CHANNELS = SPEC.channels
SPANS = {name.upper(): span for name, span in SPEC.spans.items()}
BITS = SPEC.bits


@dataclass
class DacChannel:
    volts: float = 0.0
    mode: str = "FIX"
    range: str = "HIGH"
    filter: str = "HIGH"


class QDevilQDAC2Dialect(Dialect, spec=SPEC):
    role = Weights

    COMMANDS = (
        number("SOURce#:VOLTage[:LEVel][:IMMediate][:AMPLitude]", "volts", SPEC.voltage, unit="V", scope="channel",
               check="check_volts", apply="apply_volts"),
        choice("SOURce#:VOLTage:MODE", "mode", ("FIXed", "SWEep", "LIST"), scope="channel"),
        choice("SOURce#:RANGe", "range", ("LOW", "HIGH"), scope="channel", apply="apply_range"),
        choice("SOURce#:FILTer", "filter", ("DC", "MEDium", "HIGH"), scope="channel"),
    )

    def reset(self) -> None:
        self.channels = {n: DacChannel() for n in range(1, N_CHANNELS + 1)}
        try:
            self._apply()
        except ScpiError as error:  # a twin this DAC cannot drive: said in the error queue, not a dead server
            self.errors.push(error)

    # -- hooks ------------------------------------------------------------------

    def check_volts(self, channel: DacChannel, attr: str, value: float) -> None:
        span = SPANS[channel.range]
        if abs(value) > span:
            raise ScpiError(-222, f"{value:g} V outside the {channel.range.lower()} range ±{span:g} V")
        if channel.mode != "FIX":
            raise ScpiError(-221, "the DC generator is not in fixed mode (sour:volt:mode fix)")

    def apply_volts(self, call: Call, channel: DacChannel, value: float) -> None:
        lsb = 2 * SPANS[channel.range] / 2**BITS
        channel.volts = float(np.round(value / lsb) * lsb)  # the DAC's code
        self._apply()

    def apply_range(self, call: Call, channel: DacChannel, value: str) -> None:
        if abs(channel.volts) > SPANS[value]:
            raise ScpiError(-221, f"{channel.volts:g} V does not fit the {value.lower()} range")

    def _apply(self) -> None:
        """Every channel's voltage through the wiring sheet → the twin's weights, settled."""
        calibration = getattr(self.twin, "dac_calibration", None)
        if calibration is None:
            return
        channels, vpu = self.call_twin(calibration)
        beyond = [c for c in channels if c not in self.channels]
        if beyond:
            raise ScpiError(-240, f"the twin's wiring sheet uses channels up to {max(beyond)}; a QDAC-II has "
                                  f"{N_CHANNELS} (its chip needs {len(channels)} DAC channels)")
        shapes = self.call_twin(lambda: self.twin.shapes)
        volts = np.array([self.channels[c].volts for c in channels])
        self.call_twin(self.twin.set_weights, channel_weights(volts, shapes, vpu))
        self.call_twin(self.twin.settle)
