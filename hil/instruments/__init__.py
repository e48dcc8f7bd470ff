"""One spec per instrument model, shared by its driver (``hil.drivers``), its SCPI dialect and
its twin (``hil.sim``), so ranges, identity, options and point limits are written once.

Pure data, in the base layer: it imports nothing of this project above the base,
so both sides of the layer rule can import it. Each spec cites, per doubtful
command, where the command was settled (``references``): the programming
reference or a hardware-tested public driver.
"""

from __future__ import annotations

from hil.instruments.analysers import KEYSIGHT_XSERIES, RS_FSV, AnalyserSpec
from hil.instruments.dacs import QDEVIL_QDAC2, DacSpec
from hil.instruments.digitizers import KEYSIGHT_INFINIIVISION, DigitizerSpec
from hil.instruments.generators import KEYSIGHT_33500B, KEYSIGHT_81160A, GeneratorSpec, level_scale, load_ohms
from hil.instruments.sources import KEITHLEY_2400, KEITHLEY_6221, DeltaSpec, SourceSpec

SPECS = {spec.key: spec for spec in (KEYSIGHT_81160A, KEYSIGHT_33500B, KEYSIGHT_XSERIES, RS_FSV,
                                     KEITHLEY_6221, KEITHLEY_2400, KEYSIGHT_INFINIIVISION, QDEVIL_QDAC2)}

__all__ = ["SPECS", "AnalyserSpec", "DacSpec", "DeltaSpec", "DigitizerSpec", "GeneratorSpec", "SourceSpec",
           "KEYSIGHT_81160A", "KEYSIGHT_33500B", "KEYSIGHT_XSERIES", "RS_FSV", "KEITHLEY_6221", "KEITHLEY_2400",
           "KEYSIGHT_INFINIIVISION", "QDEVIL_QDAC2", "level_scale", "load_ohms"]
