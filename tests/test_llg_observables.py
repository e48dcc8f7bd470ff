"""Topological charge, magnetisation and the relaxed skyrmion."""

import math

import numpy as np
import pytest
import torch

from hil.sim.llg import LatticeParams, magnetisation, relaxed_skyrmion, skyrmion_ansatz, topological_charge
from hil.sim.llg.relax import _MEMORY


def test_relaxed_skyrmion_has_unit_charge(tmp_path):
    p = LatticeParams(L=24)
    s = relaxed_skyrmion(p, cache_dir=tmp_path)
    assert s.shape == (3, 24, 24)
    assert abs(topological_charge(s) - 1) < 1e-3
    assert np.allclose(np.linalg.norm(s, axis=0), 1, atol=1e-12)
    assert s[2].max() > 0.99 and np.median(s[2]) < -0.99  # core +z, background −z
    # cached in memory (same object content) and on disk
    assert p.relax_key() in _MEMORY
    files = list((tmp_path / "llg").glob("*.npy"))
    assert len(files) == 1
    _MEMORY.pop(p.relax_key())
    np.testing.assert_array_equal(relaxed_skyrmion(p, cache_dir=tmp_path), s)


def test_relaxed_skyrmion_open_boundaries():
    p = LatticeParams(L=20, periodic=False)
    s = relaxed_skyrmion(p, cache_dir=False, tol=1e-3)
    q = topological_charge(s, periodic=False)
    assert 0.9 < q < 1.0  # edge canting takes a few % of the solid angle


@pytest.mark.parametrize("sign", [1, -1])
def test_uniform_state_has_zero_charge(sign):
    s = np.zeros((3, 16, 16))
    s[2] = sign
    assert topological_charge(s) == 0
    s2 = np.zeros((3, 16, 16))
    s2[0] = 1  # in-plane
    assert abs(topological_charge(s2)) < 1e-12


def test_charge_sign_and_batch():
    a = skyrmion_ansatz(32, radius=4, helicity=-math.pi / 2)
    rev = -a  # every spin reversed: background +z, core −z
    q = topological_charge(np.stack([a, rev]))
    assert q.shape == (2,)
    assert q[0] == pytest.approx(1, abs=1e-9)
    assert q[1] == pytest.approx(-1, abs=1e-9)
    assert topological_charge(torch.as_tensor(a), periodic=False) == pytest.approx(1, abs=1e-3)


def test_charge_counts_two_skyrmions_and_shifts():
    L = 48
    a = skyrmion_ansatz(L, radius=3, helicity=-math.pi / 2, centre=(12, 12))
    b = skyrmion_ansatz(L, radius=3, helicity=-math.pi / 2, centre=(36, 36))
    s = np.where(a[2:3] > b[2:3], a, b)  # union of two reversed cores
    assert topological_charge(s) == pytest.approx(2, abs=1e-6)
    # across the periodic edge
    edge = skyrmion_ansatz(L, radius=3, helicity=-math.pi / 2, centre=(0, 0))
    assert topological_charge(edge) == pytest.approx(1, abs=1e-9)


def test_magnetisation():
    s = np.zeros((3, 8, 8))
    s[2] = -1
    s[0, :4] = 1
    s[2, :4] = 0
    assert np.allclose(magnetisation(s), [0.5, 0, -0.5])
