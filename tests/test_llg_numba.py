"""The fused numba Heun step against the torch step, its noise, and the backend switch."""

import numpy as np
import pytest
import torch

from hil.sim.llg import Integrator, LatticeParams, LLGInputError, Pulse, kernels, relaxed_skyrmion, simulate
from hil.sim.llg.fields import BatchField
from hil.sim.llg.units import FS, PS

kn = pytest.importorskip("hil.sim.llg.kernels_numba")
if not kn.AVAILABLE:
    pytest.skip("numba is not installed", allow_module_level=True)


def _random_spins(B, L, seed=0):
    g = torch.Generator().manual_seed(seed)
    s = torch.randn(B, 3, L, L, generator=g, dtype=torch.float64)
    return s / s.norm(dim=1, keepdim=True)


def _step_args(B, L, seed=1):
    p = LatticeParams(L=L, J=0.5, D=-0.12, K=0.1, mu_s=0.7)
    g = torch.Generator().manual_seed(seed)
    b0 = (torch.rand(B, 3, generator=g, dtype=torch.float64) * 4 - 2).reshape(B, 3, 1, 1)
    b1 = b0 * 1.05
    a = torch.linspace(0.0, 0.6, B, dtype=torch.float64).reshape(B, 1, 1, 1)
    gdt = 1.760859644e11 / (1 + a * a) * 2e-15
    noise = 0.5 * torch.randn(B, 3, L, L, generator=g, dtype=torch.float64)
    coef = torch.tensor(p.field_coefficients(), dtype=torch.float64)
    return b0, b1, gdt, gdt * a, coef, noise


@pytest.mark.parametrize("periodic", [True, False])
@pytest.mark.parametrize("with_noise", [False, True])
@pytest.mark.parametrize("L", [9, 12])
def test_one_step_matches_torch(periodic, with_noise, L):
    S = _random_spins(3, L)
    b0, b1, gdt, gadt, coef, noise = _step_args(3, L)
    z = noise if with_noise else None
    ref = kernels.heun_step(S, b0, b1, z, gdt, gadt, coef, periodic)
    out = kn.heun_step(S, b0, b1, z, gdt, gadt, coef, periodic)
    assert float((ref - S).abs().max()) > 1e-3  # the step moved the spins
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-13)


@pytest.mark.parametrize("periodic", [True, False])
def test_many_steps_with_given_noise_match_torch(periodic):
    B, L, n = 2, 10, 300
    S = _random_spins(B, L, seed=3)
    b0, _, gdt, gadt, coef, _ = _step_args(B, L)
    g = torch.Generator().manual_seed(7)
    noise = 0.3 * torch.randn(n, B, 3, L, L, generator=g, dtype=torch.float64)
    fields = np.linspace(0.5, 1.5, n + 1)[:, None, None] * b0.reshape(1, B, 3).numpy()
    ref = S.clone()
    for k in range(n):
        fb = torch.from_numpy(fields)
        ref = kernels.heun_step(ref, fb[k].reshape(B, 3, 1, 1), fb[k + 1].reshape(B, 3, 1, 1), noise[k],
                                gdt, gadt, coef, periodic)
    out = S.numpy().copy()
    kn.advance(out, fields, gdt.reshape(B).numpy(), gadt.reshape(B).numpy(), coef.numpy(), periodic,
               noise=noise.numpy())
    assert float((ref - S).abs().max()) > 0.1
    np.testing.assert_allclose(out, ref.numpy(), rtol=0, atol=1e-11)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-12)


P = LatticeParams(L=16)


@pytest.fixture(scope="module")
def skyrmion():
    return relaxed_skyrmion(P, cache_dir=False)


@pytest.mark.parametrize("periodic", [True, False])
def test_integrator_backends_agree_over_a_pulse(skyrmion, periodic):
    p = LatticeParams(L=16, periodic=periodic)
    field = BatchField([Pulse.from_degrees(t_w=0.3 * PS, theta_deg=th, t_p=0.4 * PS, B0=3.0) for th in (40, 120)])
    runs = {}
    for backend in ("torch", "numba"):
        integ = Integrator(p, skyrmion, [0.05, 0.4], 0.0, field, dt=2 * FS, compile=False, backend=backend)
        assert integ.backend == backend
        integ.advance_to(0.8 * PS + 0.7 * FS)  # 400 steps and a shorter last one
        runs[backend] = integ.spins
    assert float((runs["torch"] - torch.as_tensor(skyrmion)).abs().max()) > 1e-2
    torch.testing.assert_close(runs["numba"], runs["torch"], rtol=0, atol=1e-11)


@pytest.mark.filterwarnings("ignore:labels of samples")  # 6 ps is not meant to settle
def test_simulate_same_frames_and_labels(skyrmion):
    kw = dict(temperatures=0.0, frame_times=np.array([0, 1, 2]) * PS, dt=2 * FS, settle=0.5 * PS,
              check_interval=1 * PS, max_time=6 * PS, compile=False)
    pulses = [Pulse.from_degrees(t_w=w * PS, theta_deg=40, t_p=1 * PS) for w in (0.5, 1.0)]
    a = simulate(P, [0.36, 0.1], pulses, backend="torch", **kw)
    b = simulate(P, [0.36, 0.1], pulses, backend="numba", **kw)
    np.testing.assert_allclose(b.frames, a.frames, atol=1e-6)
    np.testing.assert_allclose(b.Q, a.Q, atol=1e-6)
    assert b.labels == a.labels and b.final_time == a.final_time


def test_kernel_noise_is_standard_normal():
    from scipy import stats

    z = kn.standard_normals(np.arange(8, dtype=np.uint64), 5, 8, 33)  # odd L: the last z pair is half used
    assert z.shape == (8, 3, 33, 33)
    x = z.ravel()
    assert abs(x.mean()) < 5 / np.sqrt(x.size) and abs(x.var() - 1) < 0.02
    assert stats.kstest(x, "norm").pvalue > 1e-3
    # components, samples and steps are uncorrelated
    assert abs(np.corrcoef(z[:, 0].ravel(), z[:, 2].ravel())[0, 1]) < 0.02
    assert abs(np.corrcoef(z[0].ravel(), z[1].ravel())[0, 1]) < 0.03
    z2 = kn.standard_normals(np.arange(8, dtype=np.uint64), 6, 8, 33)
    assert abs(np.corrcoef(x, z2.ravel())[0, 1]) < 0.02
    np.testing.assert_array_equal(z, kn.standard_normals(np.arange(8, dtype=np.uint64), 5, 8, 33))


def _thermal(idx, skyrmion, pieces=1):
    field = BatchField([Pulse.from_degrees(t_w=1 * PS, theta_deg=40, t_p=0.5 * PS)] * len(idx))
    integ = Integrator(P, skyrmion, [0.2 + 0.1 * i for i in idx], [1.5 * (i + 1) for i in idx], field,
                       dt=2 * FS, seeds=[100 + i for i in idx], backend="numba")
    for k in range(1, pieces + 1):
        integ.advance_to(k * (300 // pieces) * 2 * FS)
    assert integ.steps_taken == 300
    return integ.spins


def test_thermal_noise_batch_and_split_independent(skyrmion):
    batched = _thermal([0, 1, 2], skyrmion)
    for i in range(3):
        torch.testing.assert_close(_thermal([i], skyrmion), batched[i:i + 1], rtol=0, atol=1e-12)
    # the noise follows the step number: the run split into 3 calls is the same run
    torch.testing.assert_close(_thermal([0, 1, 2], skyrmion, pieces=3), batched, rtol=0, atol=1e-12)
    assert float((batched - torch.as_tensor(skyrmion)).abs().max()) > 1e-2
    np.testing.assert_allclose(batched.norm(dim=1).numpy(), 1.0, atol=1e-12)


def test_norm_preserved_in_strong_field_and_noise():
    p = LatticeParams(L=12)
    integ = Integrator(p, _random_spins(2, 12)[0].numpy(), [0.1, 0.5], [5.0, 20.0],
                       BatchField([Pulse(t_w=1 * PS, theta=1.0, B0=10.0, t_p=1 * PS)] * 2),
                       dt=1 * FS, backend="numba")
    integ.advance_to(2 * PS)
    assert integ.steps_taken == 2000
    assert float((integ.spins.norm(dim=1) - 1).abs().max()) < 1e-6


def test_backend_choice_and_errors(skyrmion):
    field = BatchField([Pulse(t_w=1 * PS, theta=0.5)])
    assert Integrator(P, skyrmion, 0.1, 0.0, field, dt=2 * FS).backend == "numba"
    assert Integrator(P, skyrmion, 0.1, 0.0, field, dt=2 * FS, backend="torch").backend == "torch"
    with pytest.raises(LLGInputError, match="backend must be one of"):
        Integrator(P, skyrmion, 0.1, 0.0, field, dt=2 * FS, backend="fortran")
    with pytest.raises(LLGInputError, match="CPU only"):
        Integrator(P, skyrmion, 0.1, 0.0, field, dt=2 * FS, device="cuda", backend="numba")


def test_float32_numba_close_to_float64(skyrmion):
    field = BatchField([Pulse.from_degrees(t_w=0.5 * PS, theta_deg=40, t_p=0.5 * PS)])
    runs = []
    for dtype in (torch.float64, torch.float32):
        integ = Integrator(P, skyrmion, 0.3, 0.0, field, dt=2 * FS, dtype=dtype, backend="numba")
        integ.advance_to(1 * PS)
        assert integ.spins.dtype == dtype
        runs.append(integ.spins.double())
    assert float((runs[0] - runs[1]).abs().max()) < 1e-4


def test_torch_thread_count_untouched(skyrmion):
    """numba and torch share libgomp here; a numba run must not change torch's thread count."""
    prev = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        field = BatchField([Pulse(t_w=1 * PS, theta=0.5)] * 2)
        Integrator(P, skyrmion, 0.1, 0.0, field, dt=2 * FS, backend="numba").advance_to(20 * FS)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(prev)
