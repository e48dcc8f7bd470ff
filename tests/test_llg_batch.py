"""Batched vs one-by-one, float32 vs float64, device as a parameter, simulate()."""

import numpy as np
import pytest
import torch

from hil.labels import PHYSICS
from hil.sim.llg import FRAMES_15PS, Integrator, LatticeParams, Pulse, relaxed_skyrmion, simulate
from hil.sim.llg.fields import BatchField
from hil.sim.llg.units import FS, PS

P = LatticeParams(L=16)
PULSES = [Pulse.from_degrees(t_w=w * PS, theta_deg=th, t_p=1 * PS) for w, th in ((0.5, 40), (1.0, 20), (2.0, 60))]
ALPHAS = [0.36, 0.1, 0.6]
TEMPS = [0.0, 1.5, 4.0]
SEEDS = [11, 12, 13]


@pytest.fixture(scope="module")
def skyrmion():
    return relaxed_skyrmion(P, cache_dir=False)


def _run(idx, skyrmion, dtype=torch.float64, device="cpu"):
    integ = Integrator(P, skyrmion, [ALPHAS[i] for i in idx], [TEMPS[i] for i in idx],
                       BatchField([PULSES[i] for i in idx]), dt=2 * FS, device=device, dtype=dtype,
                       seeds=[SEEDS[i] for i in idx], compile=False)
    integ.advance_to(1 * PS)
    return integ.spins.cpu().to(torch.float64)


def test_batched_equals_one_by_one(skyrmion):
    batched = _run([0, 1, 2], skyrmion)
    for i in range(3):
        single = _run([i], skyrmion)
        torch.testing.assert_close(batched[i:i + 1], single, rtol=0, atol=1e-12)
    assert float((batched[0] - torch.as_tensor(skyrmion)).abs().max()) > 1e-3  # the pulse acted


def test_float32_agrees_with_float64(skyrmion):
    idx = [0, 2]
    TEMPS_ZERO = TEMPS[0]
    a = Integrator(P, skyrmion, [ALPHAS[i] for i in idx], TEMPS_ZERO, BatchField([PULSES[i] for i in idx]),
                   dt=2 * FS, dtype=torch.float64, compile=False)
    b = Integrator(P, skyrmion, [ALPHAS[i] for i in idx], TEMPS_ZERO, BatchField([PULSES[i] for i in idx]),
                   dt=2 * FS, dtype=torch.float32, compile=False)
    a.advance_to(2 * PS)
    b.advance_to(2 * PS)
    assert b.spins.dtype == torch.float32
    assert float((a.spins - b.spins.double()).abs().max()) < 1e-4


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")
def test_cuda_matches_cpu(skyrmion):
    cpu = _run([0, 1, 2], skyrmion)
    gpu = _run([0, 1, 2], skyrmion, device="cuda")
    # same equations; noise streams differ between devices, so compare the T = 0 sample
    torch.testing.assert_close(gpu[0], cpu[0], rtol=0, atol=1e-9)


def test_device_argument_is_used(skyrmion):
    integ = Integrator(P, skyrmion, 0.3, 0.0, BatchField([PULSES[0]]), dt=2 * FS, device=torch.device("cpu"),
                       compile=False)
    assert integ.spins.device.type == "cpu"


def test_simulate_records_frames_and_labels(skyrmion):
    frames = np.array([0, 1, 2, 3]) * PS
    r = simulate(P, ALPHAS[:2], PULSES[:2], temperatures=0.0, frame_times=frames, dt=2 * FS,
                 settle=0.5 * PS, check_interval=1 * PS, max_time=12 * PS, compile=False)
    assert r.frames.shape == (2, 4, 16, 16) and r.frames.dtype == np.float32
    assert r.Q.shape == (2, 4) and r.M.shape == (2, 4, 3) and r.energy.shape == (2, 4)
    np.testing.assert_allclose(r.frames[:, 0], np.broadcast_to(skyrmion[2], (2, 16, 16)), atol=1e-6)
    assert np.allclose(r.Q[:, 0], 1, atol=1e-3)
    assert all(lab in PHYSICS for lab in r.labels)
    assert r.final_time >= frames[-1]
    np.testing.assert_allclose(r.times, frames)


@pytest.mark.filterwarnings("ignore:labels of samples")  # 2 ps at 2 K is not meant to settle
def test_simulate_seed_sequence_reproducible(skyrmion):
    kw = dict(temperatures=2.0, frame_times=[0, 0.5 * PS], dt=2 * FS, settle=0.0, check_interval=0.25 * PS,
              max_time=1 * PS, compile=False)
    a = simulate(P, 0.3, PULSES[0], seed=[5], **kw)
    b = simulate(P, 0.3, PULSES[0], seed=[5], **kw)
    c = simulate(P, 0.3, PULSES[0], seed=[6], **kw)
    np.testing.assert_array_equal(a.frames, b.frames)
    assert not np.array_equal(a.frames[:, 1], c.frames[:, 1])


def test_default_frames():
    assert len(FRAMES_15PS) == 8 and FRAMES_15PS[-1] == pytest.approx(105 * PS)
