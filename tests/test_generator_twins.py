"""The pulse-generator twins share their instrument checks: bad waveforms and unarmed triggers are refused."""

from __future__ import annotations

import numpy as np
import pytest

from hil.errors import InstrumentError
from hil.sim.chip import ChipInputAWG, OscillatorChip
from hil.sim.twins.pulse import SimPulseGenerator
from hil.sim.twins.samples import skyrmion_sample


def generators():
    return [SimPulseGenerator(skyrmion_sample(size=16), max_amplitude=5.0), ChipInputAWG(OscillatorChip(), max_amplitude=5.0)]


@pytest.mark.parametrize("index", [0, 1])
@pytest.mark.parametrize("samples, rate, match", [
    ([0.0, np.nan, 1.0], 1e9, "finite"),
    ([[0.0, 1.0]], 1e9, "1-D"),
    ([], 1e9, "non-empty"),
    ([0.0, 6.0], 1e9, "range"),
    ([0.0, 1.0], 1e15, "range"),
])
def test_bad_arbitrary_waveforms_are_refused(index, samples, rate, match):
    gen = generators()[index]
    with pytest.raises(ValueError, match=match):
        gen.set_arbitrary_pulse(np.asarray(samples, dtype=float), rate)


@pytest.mark.parametrize("index", [0, 1])
def test_trigger_needs_arm_and_shutdown_disarms(index):
    gen = generators()[index]
    gen.set_gaussian_pulse(1.0, 1e-9, 2e-9)
    with pytest.raises(InstrumentError, match="not armed"):
        gen.trigger()
    gen.arm()
    gen.output_on()
    gen.trigger()
    gen.shutdown()
    assert (gen.armed, gen.output) == (False, False)
    assert [m for m, _ in gen.received] == ["set_gaussian_pulse", "trigger", "arm", "output_on", "trigger", "shutdown"]
