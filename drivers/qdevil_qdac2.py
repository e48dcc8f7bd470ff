"""QDevil QDAC-II (24-channel DC source) as the chip's :class:`hil.roles.Weights`.

Each trainable parameter of the chip (couplings ``w_ext``, ``w_int``, biases)
sits on one DAC channel; the lab's calibration sheet says which channel and
how many volts make one unit. Both come from the bench file's options, so
the role speaks calibrated values and a protocol needs no calibration:

    [roles.weights]
    driver = "qdevil-qdac2"
    resource = "TCPIP0::192.168.0.20::5025::SOCKET"
    options = { hidden = [4], n_in = 1, channels = [1, 2, ...], volts_per_unit = { w_ext = 0.5, w_int = 0.5, bias = 1e-9 } }

Parameters are taken in the order w_ext (layer by layer, row-major), then
w_int, then bias (the layout of :mod:`hil.instruments.dacs`, the dialect's and
the chip twin's too); ``channels`` lists their channels in that order (default
1, 2, ...). Range and resolution: the output range (``high`` ±10 V, ``low``
±2 V) through the calibration; the DAC's grid of 2^bits codes over that span
(25 bits on the QDAC-II). A value outside the range refuses the whole set
(ValueError, nothing sent; the bench's guard refuses it first); a value
inside is rounded to the nearest code here, so what is sent, what the
instrument holds and what :meth:`get_weights` reads back agree. Settling:
the output filter (``dc`` 10 Hz, ``med`` 10 kHz, ``high`` 300 kHz) sets it;
by default ``settling_time`` = ln(2^bits)·τ of that filter, i.e. one code.

Commands, as QCoDeS's hardware-tested QDAC-II driver uses them
(``qcodes_contrib_drivers/drivers/QDevil/QDAC2.py``, QCoDeS/Qcodes_contrib_drivers):
``sour{ch}:volt:mode fix``, ``sour{ch}:volt``, ``sour{ch}:volt?``,
``sour{ch}:rang low|high``, ``sour{ch}:filt dc|med|high``; plus ``*OPC?`` (IEEE
488.2) so :meth:`settle` knows every setting has been applied before it waits.
Filter corner frequencies: QDevil's QDAC-II documentation and the same driver.
Channels, spans, filters and bits are written once, in
:data:`hil.instruments.QDEVIL_QDAC2` (shared with the SCPI dialect, with the references).
"""

from __future__ import annotations

import math
import time
from typing import Any, Mapping

import numpy as np
from pymeasure.instruments import Channel, Instrument, SCPIMixin
from pymeasure.instruments.validators import strict_discrete_set, strict_range

from hil.drivers._transport import disable_nagle
from hil.instruments import QDEVIL_QDAC2 as SPEC
from hil.instruments.dacs import WEIGHT_KINDS, channel_weights, parameter_count, weight_shapes

N_CHANNELS = SPEC.channels
SPANS = SPEC.spans  # V, ± of each output range
FILTERS = SPEC.filters  # Hz, output filter corners


class QDAC2Channel(Channel):
    """One output: a fixed DC voltage, its range and its filter."""

    voltage = Channel.control(
        "sour{ch}:volt?", "sour{ch}:volt %.12g",
        """Control the DC output in V (float, strictly ±10 V; the range set narrows it).""",
        validator=strict_range, values=list(SPEC.voltage),
    )
    voltage_mode = Channel.control(
        "sour{ch}:volt:mode?", "sour{ch}:volt:mode %s", """Control the DC generator's mode ('fix', 'swe', 'list').""",
        validator=strict_discrete_set, values=["fix", "swe", "list"],
    )
    output_range = Channel.control(
        "sour{ch}:rang?", "sour{ch}:rang %s", """Control the output range ('low' ±2 V, 'high' ±10 V).""",
        validator=strict_discrete_set, values=list(SPANS),
    )
    output_filter = Channel.control(
        "sour{ch}:filt?", "sour{ch}:filt %s", """Control the output filter ('dc' 10 Hz, 'med' 10 kHz, 'high' 300 kHz).""",
        validator=strict_discrete_set, values=list(FILTERS),
    )


class QDAC2Weights(SCPIMixin, Instrument):
    """QDevil QDAC-II driving the chip's coupling and bias lines (Weights role).

    :param adapter: VISA resource name or pymeasure adapter.
    :param hidden: the chip's layer sizes (the calibration sheet's network).
    :param n_in: input lines of the chip's first layer.
    :param channels: DAC channel of each parameter, in w_ext, w_int, bias order (default 1..N).
    :param volts_per_unit: volts per calibrated unit, one number or one per kind (biases in V per 1/s).
    :param output_range: ``high`` (±10 V) or ``low`` (±2 V), for every channel used.
    :param output_filter: ``dc``, ``med`` or ``high``, for every channel used.
    :param bits: DAC resolution over the range (25 on a QDAC-II; fewer to study quantisation).
    :param settling_time: s to wait after a change; default from the filter (one code).
    :param kwargs: passed to pymeasure's VISA adapter.
    """

    MODEL = "QDAC-II"

    channels = Instrument.MultiChannelCreator(QDAC2Channel, list(range(1, N_CHANNELS + 1)), prefix="ch_")

    def __init__(self, adapter, name: str = "QDevil QDAC-II", hidden=(4,), n_in: int = 1, channels=None,
                 volts_per_unit: float | Mapping[str, float] = 1.0, output_range: str = "high",
                 output_filter: str = "high", bits: int = SPEC.bits, settling_time: float | None = None,
                 **kwargs):
        self._shapes = weight_shapes(hidden, n_in)
        n_params = parameter_count(self._shapes)
        chans = list(range(1, n_params + 1)) if channels is None else [int(c) for c in channels]
        if len(chans) != n_params or len(set(chans)) != len(chans) or not all(1 <= c <= N_CHANNELS for c in chans):
            raise ValueError(f"this chip has {n_params} parameters: give as many distinct channels in 1..{N_CHANNELS} "
                             f"(one QDAC-II has {N_CHANNELS}), got {len(chans)}")
        vpu = volts_per_unit if isinstance(volts_per_unit, Mapping) else {k: volts_per_unit for k in WEIGHT_KINDS}
        if set(vpu) != set(WEIGHT_KINDS) or not all(float(v) > 0 for v in vpu.values()):
            raise ValueError(f"volts_per_unit must be > 0 for each of {', '.join(WEIGHT_KINDS)}, "
                             f"got {volts_per_unit!r}")
        if output_range not in SPANS or output_filter not in FILTERS or not 2 <= int(bits) <= 32:
            raise ValueError(f"output_range in {list(SPANS)}, output_filter in {list(FILTERS)}, 2 <= bits <= 32")
        super().__init__(adapter, name, **kwargs)
        self.parameter_channels, self.volts_per_unit = chans, {k: float(v) for k, v in vpu.items()}
        self.range_name, self.filter_name, self.bits = output_range, output_filter, int(bits)
        self.span = SPANS[output_range]
        self.lsb = 2 * self.span / 2**self.bits  # V
        tau = 1 / (2 * math.pi * FILTERS[output_filter])
        self.settling_time = float(settling_time) if settling_time is not None else math.log(2**self.bits) * tau
        self._volts: np.ndarray | None = None  # what each parameter's channel holds (V), once set up
        self._set_at = time.monotonic()
        disable_nagle(self)

    # -- the role ---------------------------------------------------------------

    @property
    def shapes(self) -> dict[str, tuple[tuple[int, ...], ...]]:
        return dict(self._shapes)

    @property
    def ranges(self) -> dict[str, tuple[float, float, float]]:
        """(lowest, highest, resolution) per kind in calibrated units: the DAC's codes through the calibration."""
        lo, hi = -(2 ** (self.bits - 1)) * self.lsb, (2 ** (self.bits - 1) - 1) * self.lsb
        return {k: (lo / v, hi / v, self.lsb / v) for k, v in self.volts_per_unit.items()}

    def set_weights(self, weights: Mapping[str, Any]) -> None:
        """Check every value, round to the DAC's codes, then send the channels that change.

        The first call also puts every channel used in fixed-voltage mode with the range and
        filter chosen. Out of range or a wrong shape raises ValueError and nothing is sent.
        """
        volts = self._to_volts(weights)
        if self._volts is None:
            for ch in self.parameter_channels:
                c = getattr(self, f"ch_{ch}")
                c.voltage_mode = "fix"
                c.output_range = self.range_name
                c.output_filter = self.filter_name
            changed = np.ones(len(volts), dtype=bool)
        else:
            changed = volts != self._volts
        for i in np.flatnonzero(changed):
            getattr(self, f"ch_{self.parameter_channels[i]}").voltage = float(volts[i])
        self._volts = volts
        if changed.any():
            self._set_at = time.monotonic()

    def get_weights(self) -> dict[str, list[np.ndarray]]:
        """Read every channel back (``sour{ch}:volt?``) and convert to calibrated units."""
        volts = np.array([float(getattr(self, f"ch_{ch}").voltage) for ch in self.parameter_channels])
        return channel_weights(volts, self._shapes, self.volts_per_unit)

    def settle(self) -> None:
        """``*OPC?`` (every setting applied), then wait out the settling time since the last change."""
        self.ask("*OPC?")
        wait = self._set_at + self.settling_time - time.monotonic()
        if wait > 0:
            time.sleep(wait)

    def shutdown(self) -> None:
        """Every channel used to 0 V (the chip unprogrammed: couplings off, no bias)."""
        try:
            if self._volts is not None:
                for i in np.flatnonzero(self._volts != 0):
                    getattr(self, f"ch_{self.parameter_channels[i]}").voltage = 0.0
                self._volts = np.zeros_like(self._volts)
        finally:
            Instrument.shutdown(self)

    def close(self) -> None:
        self.adapter.close()

    # -- steps ------------------------------------------------------------------

    def _to_volts(self, weights: Mapping[str, Any]) -> np.ndarray:
        lo, hi = -(2 ** (self.bits - 1)) * self.lsb, (2 ** (self.bits - 1) - 1) * self.lsb
        parts, problems = [], []
        for kind in WEIGHT_KINDS:
            arrays = list(weights[kind]) if kind in weights else None
            if arrays is None or len(arrays) != len(self._shapes[kind]):
                problems.append(f"{kind}: need {len(self._shapes[kind])} arrays")
                continue
            for layer, (a, shape) in enumerate(zip(arrays, self._shapes[kind])):
                a = np.asarray(a, dtype=float)
                if a.shape != shape or not np.all(np.isfinite(a)):
                    problems.append(f"{kind}[{layer}] has shape {a.shape} (need {shape}) or is not finite")
                    continue
                v = a.reshape(-1) * self.volts_per_unit[kind]
                if v.size and (v.min() < lo or v.max() > hi):
                    problems.append(f"{kind}[{layer}] needs {v.min():.6g} V to {v.max():.6g} V, outside the "
                                    f"{self.range_name} range [{lo:.6g}, {hi:.6g}] V")
                parts.append(v)
        if problems:
            raise ValueError(f"{self.MODEL}: weights refused, nothing sent: " + "; ".join(problems))
        return np.round(np.concatenate(parts) / self.lsb) * self.lsb
