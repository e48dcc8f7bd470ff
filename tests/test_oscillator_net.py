"""The digital oscillator network: bounded, relaxes where the equation says, trains, masks hold."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hil.models.ctrnn import CTRNN
from hil.models.digits import load_digits_sequences
from hil.models.oscillator_net import OscillatorNet, logistic_step
from hil.models.train import TrainConfig, fit, nll_loss

torch.set_num_threads(1)


def test_neuron_stays_in_unit_interval_for_any_bounded_drive():
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(20000, generator=gen)
    x[:5] = torch.tensor([0.0, 1.0, 1e-12, 1 - 1e-7, 0.5])
    for dt in (0.01, 1.0, 10.0, 100.0):
        drive = (torch.rand(20000, generator=gen) * 2 - 1) * 50.0  # |I| ≤ 50/ns ≫ γ
        out = logistic_step(x, drive, 1 / 14.12, dt)
        assert torch.isfinite(out).all()
        assert out.min() >= 0.0 and out.max() <= 1.0


def test_neuron_matches_a_fine_ode_solve():
    from scipy.integrate import solve_ivp

    gamma = 1 / 14.12
    for drive in (-0.3, 0.0, gamma, 0.2, 3.0):
        ref = solve_ivp(lambda _, x: -gamma * x + drive * x * (1 - x), (0, 2.0), [0.3], rtol=1e-11, atol=1e-14)
        got = logistic_step(torch.tensor([0.3], dtype=torch.float64), torch.tensor([drive], dtype=torch.float64), gamma, 2.0)
        assert float(got) == pytest.approx(ref.y[0, -1], rel=1e-7)


def test_zero_weights_relax_to_the_predicted_fixed_point():
    net = OscillatorNet(hidden=(4, 4), n_out=3, seed=0)
    with torch.no_grad():
        for p in list(net.w_ext) + list(net.w_int):
            p.zero_()
        net.bias[1].fill_(0.05)  # free drive 2γ + S b → x* = 1 − γ/(2γ + S b)
        net.bias[0].fill_(-0.6)  # 2γ − 0.3 < 0: x* = 0, approached from the floor
    # start away from rest by driving hard for a while, then let it free-run
    states = [net._rest(l, (1, 1, 4)) for l in range(2)]
    for l in range(2):
        x = torch.full((1, 1, 4), 0.9)
        free = 2 * net.gamma + net.S * net.bias[l].detach()
        for _ in range(400):
            x = logistic_step(x, free, net.gamma, 1.0)
        f = float(free[0, 0, 0])
        expected = 1 - net.gamma / f if f > net.gamma else 0.0
        assert torch.allclose(x, torch.full_like(x, expected), atol=1e-6)
        assert torch.allclose(states[l][0].detach(), torch.full_like(x, max(expected, net.x_floor)), atol=1e-7)
    # and a whole sequence of zeros leaves the rest state (y stays 0)
    y = net.forward_states(torch.zeros(2, 30))
    assert torch.allclose(y, torch.zeros_like(y), atol=1e-7)


def test_bad_inputs_raise_clear_errors():
    net = OscillatorNet(hidden=(4,), seed=0)
    seq = torch.rand(2, 10)
    seq[1, 3] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        net(seq)
    with pytest.raises(ValueError, match="shape"):
        net(torch.rand(2, 10, 3))
    with pytest.raises(ValueError, match="density"):
        OscillatorNet(density=1.5)


def test_masks_keep_pruned_weights_exactly_zero_through_training():
    data = load_digits_sequences(limit=240)
    net = OscillatorNet(hidden=(8, 8), density=0.3, ensemble=2, seed=3)
    pruned = [(w.detach() == 0) & (net.mask(k, l) == 0) for l in range(2) for k, w in (("ext", net.w_ext[l]), ("int", net.w_int[l]))]
    assert all((net.mask(k, l) == 0).any() for l in range(2) for k in ("int",))
    fit(net, data, TrainConfig(epochs=2, batch=60))
    after = [w.detach() for l in range(2) for w in (net.w_ext[l], net.w_int[l])]
    for was_zero, w in zip(pruned, after):
        assert torch.equal(w[was_zero], torch.zeros_like(w[was_zero]))
    assert any((w != 0).any() for w in after)


@pytest.mark.parametrize("cls", [OscillatorNet, CTRNN])
def test_short_training_lowers_the_loss(cls):
    # four seeds, their mean loss: 4 epochs of 360 images is early days, where one seed's drop varies
    # from 0.07 to 0.36 with its initial weights and data order
    data = load_digits_sequences(limit=720)
    net = cls(hidden=(16, 16), seeds=(0, 1, 2, 3))
    x, y = data.x_train, data.y_train
    with torch.no_grad():
        before = float(nll_loss(net(x), y)) / 4
    lr0 = 0.149 if cls is OscillatorNet else 0.02  # the small CTRNN starts fastest here
    fit(net, data, TrainConfig(epochs=4, lr0=lr0))
    with torch.no_grad():
        after = float(nll_loss(net(x), y)) / 4
    assert after < before - 0.1


@pytest.mark.parametrize("cls", [OscillatorNet, CTRNN])
def test_a_seed_trains_the_same_alone_and_inside_an_ensemble(cls):
    """Seed k's run is the same whatever runs beside it (issue 19).

    A solo run of seed 2 against the same seed as member 2 of seeds 0..3 and
    as member 0 of seeds 2..3 — from construction on, through their own
    initial weights, masks and data order, nothing copied between them. One
    thread, bit for bit: every member's products are GEMMs of the same shapes
    alone or batched (with more threads a batched GEMM may split its sums
    differently: see test_a_seed_is_a_seed_with_two_threads_to_rounding).
    """
    data = load_digits_sequences(limit=240)
    kw = dict(hidden=(6, 6), density=0.5)
    cfg = TrainConfig(epochs=2, batch=30)
    solo = cls(ensemble=1, seed=2, **kw)
    four = cls(ensemble=4, seed=0, **kw)
    pair = cls(ensemble=2, seed=2, **kw)
    runs = [(net, fit(net, data, cfg)) for net in (solo, four, pair)]
    (_, h_solo), (_, h_four), (_, h_pair) = runs
    for net, member in ((four, 2), (pair, 0)):
        for (name, ps), pe in zip(solo.named_parameters(), net.parameters()):
            assert torch.equal(pe[member], ps[0]), f"{name} of seed 2 differs"
        for (name, bs), be in zip(solo.named_buffers(), net.buffers()):
            assert torch.equal(be[member], bs[0]), f"mask {name} of seed 2 differs"
    for e in range(cfg.epochs):
        assert h_four.accuracy[e][2] == h_pair.accuracy[e][0] == h_solo.accuracy[e][0]
        assert h_four.loss[e][2] == h_pair.loss[e][0] == h_solo.loss[e][0]


def test_a_seed_is_a_seed_with_two_threads_to_rounding():
    """Two threads: batched and solo GEMMs may sum in another order; seed 1 still agrees to float32 rounding."""
    data = load_digits_sequences(limit=120)
    kw = dict(hidden=(6, 6))
    cfg = TrainConfig(epochs=1, batch=30)
    torch.set_num_threads(2)
    try:
        solo, trio = OscillatorNet(seed=1, **kw), OscillatorNet(ensemble=3, seed=0, **kw)
        fit(solo, data, cfg)
        fit(trio, data, cfg)
    finally:
        torch.set_num_threads(1)
    for ps, pe in zip(solo.parameters(), trio.parameters()):
        torch.testing.assert_close(pe[1], ps[0], rtol=1e-5, atol=1e-6)


def test_ensemble_seeds_and_per_member_order():
    """``seeds`` lists the members; each member's data order comes from its own seed."""
    from hil.models.train import epoch_orders

    net = OscillatorNet(hidden=(4,), seeds=(7, 3))
    assert net.ensemble == 2 and net.seeds == (7, 3) and net.config()["seeds"] == [7, 3]
    alone = OscillatorNet(hidden=(4,), seed=3)
    assert torch.equal(net.w_out[1], alone.w_out[0]) and torch.equal(net.mask_int0[1], alone.mask_int0[0])
    orders = epoch_orders(net, 50, 4, TrainConfig())
    assert torch.equal(orders[1], epoch_orders(alone, 50, 4, TrainConfig())[0])
    assert not torch.equal(orders[0], orders[1])
    shared = epoch_orders(net, 50, 4, TrainConfig(shuffle_seed=0))
    assert torch.equal(shared[0], shared[1])
    with pytest.raises(ValueError, match="seeds"):
        OscillatorNet(hidden=(4,), ensemble=3, seeds=(1, 2))


def test_highpass_of_trace_equals_the_models_own_readout():
    net = OscillatorNet(hidden=(5, 5), seed=2)
    x = torch.rand(3, 12)
    traces = []
    orig = net._cell

    def spy(state, drive, h):
        new, out = orig(state, drive, h)
        if drive.shape[-1] == 5 and spy.layer == 1:
            traces.append(new[0])
        spy.layer = (spy.layer + 1) % 2
        return new, out

    spy.layer = 0
    net._cell = spy
    with torch.no_grad():
        y = net.forward_states(x)
        rest = net._rest(1, (1, 3, 5))[0]
    trace = torch.stack([rest] + traces, dim=-2)  # (E, B, T+1, N)
    torch.testing.assert_close(net.highpass_of_trace(trace), y, rtol=1e-4, atol=1e-6)


def test_digits_are_sklearns_digits_split_in_half():
    from sklearn.datasets import load_digits

    from hil.models.digits import _digits_arrays

    pixels, labels = _digits_arrays()
    ref = load_digits()
    np.testing.assert_array_equal(pixels, ref.data.astype(np.float32))
    np.testing.assert_array_equal(labels, ref.target)
    d = load_digits_sequences()
    assert d.x_train.shape == (898, 64) and d.x_test.shape == (899, 64)
    assert 0.0 <= float(d.x_train.min()) and float(d.x_train.max()) == 1.0
