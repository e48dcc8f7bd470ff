"""A camera on a field-driven sample: S_z frames at chosen times after the trigger."""

from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np

from hil.roles import FieldDrivenSample
from hil.sim.twins.base import TwinInstrument


class SimFrameSource(TwinInstrument):
    """Advances ``sample`` and reads its S_z at each requested time."""

    def __init__(self, sample: FieldDrivenSample):
        super().__init__()
        self.sample = sample

    def frames(self, times: Sequence[float]) -> Iterator[tuple[float, np.ndarray]]:
        times = [float(t) for t in times]
        self._log("frames", tuple(times))
        if any(b <= a for a, b in zip(times, times[1:])):
            raise ValueError("frame times must be strictly increasing")
        for t in times:
            self.sample.advance_to(t)
            yield t, np.asarray(self.sample.sz(), dtype=np.float32)
