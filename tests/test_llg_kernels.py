"""LLG kernels: field = −∂H/∂S/μ_s, |S| = 1, energy conservation and decay."""

import math

import numpy as np
import pytest
import torch

from hil.sim.llg import Integrator, LatticeParams, Pulse, energy, skyrmion_ansatz
from hil.sim.llg import kernels
from hil.sim.llg.fields import BatchField
from hil.sim.llg.units import FS, PS


def _random_spins(B, L, seed=0):
    g = torch.Generator().manual_seed(seed)
    s = torch.randn(B, 3, L, L, generator=g, dtype=torch.float64)
    return s / s.norm(dim=1, keepdim=True)


def _static(b):
    return BatchField([lambda t, b=np.asarray(b, float): b])


@pytest.mark.parametrize("periodic", [True, False])
def test_field_is_minus_energy_gradient(periodic):
    p = LatticeParams(L=9, J=0.5, D=-0.12, K=0.1, mu_s=0.7, periodic=periodic)
    S = _random_spins(2, 9).requires_grad_(True)
    b = torch.tensor([[0.3, -0.2, 1.1], [0.0, 0.5, -0.4]], dtype=torch.float64)
    e = kernels.energy(S, p.J, p.D, p.K, p.moment, b, periodic).sum()
    (grad,) = torch.autograd.grad(e, S)
    cj, cd, ck = p.field_coefficients()
    field = kernels.internal_field(S.detach(), cj, cd, ck, periodic) + b[:, :, None, None]
    torch.testing.assert_close(field, -grad / p.moment, rtol=1e-12, atol=1e-10)


def test_uniform_state_energy():
    p = LatticeParams(L=10, mu_s=0.7)
    s = np.zeros((3, 10, 10))
    s[2] = -1
    # 4 bonds per spin counted twice → −4J, anisotropy −K, Zeeman +μ_s·B for B along +z
    e = energy(s, p, field=[0, 0, 1.0])
    assert e == pytest.approx(100 * (-4 * p.J - p.K + p.mu_s * 5.7883818060e-2), rel=1e-12)


def test_norm_preserved_with_strong_field_and_noise():
    p = LatticeParams(L=12)
    integ = Integrator(p, _random_spins(2, 12)[0].numpy(), [0.1, 0.5], [5.0, 20.0],
                       BatchField([Pulse(t_w=1 * PS, theta=1.0, B0=10.0, t_p=1 * PS)] * 2),
                       dt=1 * FS, compile=False)
    integ.advance_to(2 * PS)
    norms = integ.spins.norm(dim=1)
    assert integ.steps_taken == 2000
    assert float((norms - 1).abs().max()) < 1e-6


def _ansatz(L):
    return skyrmion_ansatz(L, radius=3.0, helicity=-math.pi / 2)


def test_energy_conserved_without_damping():
    """α = 0 in a static tilted field: the dynamics is strong, the energy constant."""
    p = LatticeParams(L=12)
    b = np.array([0.8, 0.0, 0.6])
    integ = Integrator(p, _ansatz(12), 0.0, 0.0, _static(b), dt=1 * FS, compile=False)
    e0 = float(energy(integ.spins, p, b)[0])
    integ.advance_to(10 * PS)
    e1 = float(energy(integ.spins, p, b)[0])
    moved = float((integ.spins[0].numpy() - _ansatz(12)).__abs__().max())
    assert moved > 0.1  # something happened
    assert abs(e1 - e0) / abs(e0) < 1e-5


def test_energy_decreases_with_damping():
    p = LatticeParams(L=12)
    integ = Integrator(p, _ansatz(12), 0.2, 0.0, _static([0, 0, 0]), dt=2 * FS, compile=False)
    energies = [float(energy(integ.spins, p)[0])]
    for k in range(1, 41):
        integ.advance_to(k * 50 * FS)
        energies.append(float(energy(integ.spins, p)[0]))
    d = np.diff(energies)
    assert np.all(d <= 1e-9 * abs(energies[0]))
    assert energies[-1] < energies[0] - 1.0  # meV: it really relaxed


@pytest.mark.slow  # ~10 s of torch.compile (less with inductor's disk cache)
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # emitted inside torch._dynamo
def test_compiled_step_matches_eager():
    """torch.compile path vs eager path of the same step (cross-check of the two CPU paths)."""
    p = LatticeParams(L=12)
    spins = _ansatz(12)
    field = BatchField([Pulse(t_w=1 * PS, theta=0.7, t_p=0.5 * PS)] * 2)
    runs = []
    for compiled in (False, True):
        integ = Integrator(p, spins, [0.1, 0.4], 0.0, field, dt=2 * FS, compile=compiled, backend="torch")
        integ.advance_to(40 * FS)
        runs.append(integ.spins)
    torch.testing.assert_close(runs[0], runs[1], rtol=0, atol=1e-12)
