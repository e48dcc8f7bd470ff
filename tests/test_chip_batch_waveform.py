"""A batch played as one long waveform: the chip twin's parallel-in-time integration equals step-by-step
integration, whether or not the network relaxes between sequences."""

from __future__ import annotations

import numpy as np
import pytest

from hil.sim.chip import OscillatorChip


def chip_with(scale_int: float) -> OscillatorChip:
    chip = OscillatorChip(hidden=(6, 5), gamma_spread=0.1, readout_noise=0.0, seed=4)
    chip.set_rail_current(2e-3)
    rng = np.random.default_rng(1)
    chip.program({"w_ext": [rng.normal(0, 1, (6, 1)), rng.normal(0, 1, (5, 6))],
                  "w_int": [rng.normal(0, scale_int, (6, 6)), rng.normal(0, scale_int, (5, 5))],
                  "bias": [rng.normal(0, 0.02, 6), rng.normal(0, 0.02, 5)]})
    return chip


@pytest.mark.parametrize("scale_int", [0.1, 3.0])  # relaxing, and strongly recurrent (may never rest)
def test_parallel_in_time_equals_sequential(scale_int):
    chip = chip_with(scale_int)
    rng = np.random.default_rng(2)
    seqs = rng.uniform(0, 1, (7, 30))
    wave = np.zeros((7, 30 + 40))
    wave[:, :30] = seqs
    u = wave.reshape(1, -1, 1)
    fast = chip._run(u, 1.0)  # cut at the guards, iterated to consistency
    slow, _ = chip._integrate(u, 1.0, chip._rest_state(1))
    np.testing.assert_allclose(fast, slow, atol=1e-8)


def test_a_waveform_without_long_quiet_runs_is_integrated_step_by_step():
    chip = chip_with(0.1)
    u = np.random.default_rng(3).uniform(0.1, 1, (1, 200, 1))
    slow, _ = chip._integrate(u, 1.0, chip._rest_state(1))
    np.testing.assert_array_equal(chip._run(u, 1.0), slow)


def test_the_detector_filter_is_the_one_pole_recursion():
    chip = OscillatorChip(hidden=(3,), readout_noise=0.0, detector_bandwidth=50e6, seed=0)
    x = np.random.default_rng(5).uniform(0, 1, (2, 40, 3))
    a = -np.expm1(-2 * np.pi * 50e6 * 1e-9)
    want, acc = np.empty_like(x), x[:, 0]
    for k in range(40):
        acc = acc + a * (x[:, k] - acc)
        want[:, k] = acc
    np.testing.assert_allclose(chip.detect(x, 1.0), want, rtol=1e-12, atol=1e-14)
