"""One spec per instrument model, shared by its driver (``hil.drivers``), its SCPI dialect and
its twin (``hil.sim``), so ranges, identity, options and point limits are written once.

Data, and the little arithmetic both sides need to agree on (the fixed range an
instrument picks, :func:`fixed_range`; the weights layout on DAC channels,
:func:`weight_shapes` and :func:`channel_weights`), in the base layer: it
imports nothing of this project above the base, so both sides of the layer rule
can import it. Every spec is an :class:`InstrumentSpec` (identity and
references) and cites, per doubtful command, where the command was settled
(``references``): the programming reference or a hardware-tested public driver.
"""

from __future__ import annotations

from hil.instruments.analysers import KEYSIGHT_XSERIES, RS_FSV, AnalyserSpec
from hil.instruments.dacs import QDEVIL_QDAC2, WEIGHT_KINDS, DacSpec, channel_weights, parameter_count, weight_shapes
from hil.instruments.digitizers import KEYSIGHT_INFINIIVISION, DigitizerSpec
from hil.instruments.generators import KEYSIGHT_33500B, KEYSIGHT_81160A, GeneratorSpec, level_scale, load_ohms
from hil.instruments.sources import KEITHLEY_2400, KEITHLEY_6221, DeltaSpec, SourceSpec, fixed_range
from hil.instruments.spec import InstrumentSpec

SPECS = {spec.key: spec for spec in (KEYSIGHT_81160A, KEYSIGHT_33500B, KEYSIGHT_XSERIES, RS_FSV,
                                     KEITHLEY_6221, KEITHLEY_2400, KEYSIGHT_INFINIIVISION, QDEVIL_QDAC2)}

__all__ = ["SPECS", "AnalyserSpec", "DacSpec", "DeltaSpec", "DigitizerSpec", "GeneratorSpec", "InstrumentSpec",
           "SourceSpec", "KEYSIGHT_81160A", "KEYSIGHT_33500B", "KEYSIGHT_XSERIES", "RS_FSV", "KEITHLEY_6221",
           "KEITHLEY_2400", "KEYSIGHT_INFINIIVISION", "QDEVIL_QDAC2", "WEIGHT_KINDS", "channel_weights",
           "fixed_range", "level_scale", "load_ohms", "parameter_count", "weight_shapes"]
