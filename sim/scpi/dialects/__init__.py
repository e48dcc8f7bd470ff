"""One SCPI dialect per real driver in ``drivers/``: name → class, the one registry."""

from __future__ import annotations

from hil.errors import UnknownNameError
from hil.sim.scpi.dialect import Dialect
from hil.sim.scpi.dialects.keithley2400 import Keithley2400Dialect
from hil.sim.scpi.dialects.keithley6221 import Keithley6221Dialect
from hil.sim.scpi.dialects.keysight33500b import Keysight33500BDialect
from hil.sim.scpi.dialects.keysight81160a import Keysight81160ADialect
from hil.sim.scpi.dialects.keysight_infiniivision import KeysightInfiniiVisionDialect
from hil.sim.scpi.dialects.keysight_xseries import KeysightXSeriesDialect
from hil.sim.scpi.dialects.qdevil_qdac2 import QDevilQDAC2Dialect
from hil.sim.scpi.dialects.rs_fsv import RohdeSchwarzFSVDialect

DIALECTS: dict[str, type[Dialect]] = {
    cls.name: cls
    for cls in (
        Keysight81160ADialect,
        Keysight33500BDialect,
        KeysightXSeriesDialect,
        RohdeSchwarzFSVDialect,
        Keithley6221Dialect,
        Keithley2400Dialect,
        KeysightInfiniiVisionDialect,
        QDevilQDAC2Dialect,
    )
}


def get_dialect(name: str) -> type[Dialect]:
    """The dialect class called ``name``; an unknown name raises, listing the known ones."""
    try:
        return DIALECTS[name]
    except KeyError:
        raise UnknownNameError("SCPI dialect", name, list(DIALECTS)) from None
