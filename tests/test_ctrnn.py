"""The CTRNN baseline's options and the settings search's data split (issue 5)."""

from __future__ import annotations

import importlib.util
from collections import Counter
from pathlib import Path

import pytest
import torch

from hil.models.ctrnn import CTRNN
from hil.models.train import load_checkpoint, save_checkpoint

ROOT = Path(__file__).resolve().parent.parent


def _bench(name):
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", ROOT / "benchmarks" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_defaults_are_the_issues_form():
    net = CTRNN()
    assert (net.drive_gain, net.input_gain, net.init_scale, net.readout_kind) == (1.0, 1.0, 1.0, "tanh")


def test_input_gain_multiplies_the_input_line():
    u = torch.rand(5, 64)
    plain, gained = CTRNN(hidden=(8, 8), seed=3), CTRNN(hidden=(8, 8), seed=3, input_gain=2.5)
    with torch.no_grad():
        assert torch.allclose(gained(u), plain(2.5 * u), atol=1e-6)
        assert not torch.allclose(gained(u), plain(u), atol=1e-3)


def test_init_scale_scales_hidden_weights_only_and_keeps_masks():
    plain, scaled = CTRNN(hidden=(8, 8), seed=4), CTRNN(hidden=(8, 8), seed=4, init_scale=3.0)
    for a, b in zip(list(plain.w_ext) + list(plain.w_int), list(scaled.w_ext) + list(scaled.w_int)):
        assert torch.allclose(b, 3.0 * a)
    assert torch.equal(plain.w_out, scaled.w_out)
    for (_, m1), (_, m2) in zip(plain.named_buffers(), scaled.named_buffers()):
        assert torch.equal(m1, m2)


def test_readout_x_reads_the_state_tanh_reads_its_tanh():
    u = torch.rand(4, 16)
    th, x = CTRNN(hidden=(6,), seed=2), CTRNN(hidden=(6,), seed=2, readout="x")
    with torch.no_grad():
        hx = x.forward_states(u)
        assert torch.allclose(th.forward_states(u), torch.tanh(hx), atol=1e-6)


def test_checkpoint_round_trip_keeps_the_options(tmp_path):
    net = CTRNN(hidden=(6, 6), seed=1, tau=40.0, drive_gain=2 / 40.0, input_gain=4.0, init_scale=2.0, readout="x")
    save_checkpoint(tmp_path / "c.pt", net, None, 0, {})
    back = load_checkpoint(tmp_path / "c.pt")["model"]
    assert back.config() == net.config()
    u = torch.rand(3, 20)
    with torch.no_grad():
        assert torch.equal(back(u), net(u))


@pytest.mark.parametrize("kw", [dict(drive_gain=0.0), dict(input_gain=-1.0), dict(init_scale=float("nan")),
                                dict(init_scale=float("inf")), dict(readout="y")])
def test_bad_options_raise(kw):
    with pytest.raises(ValueError):
        CTRNN(hidden=(4,), **kw)


def test_drive_gain_flag_parses_numbers_and_multiples_of_gamma():
    parse = _bench("oscillator_digits").parse_drive_gain
    assert parse("gamma", 20.0) == pytest.approx(0.05)
    assert parse("2.5*gamma", 20.0) == pytest.approx(0.125)
    assert parse("0.3", 20.0) == pytest.approx(0.3)
    with pytest.raises(ValueError, match="drive-gain"):
        parse("fast", 20.0)


def test_search_validation_comes_from_the_train_half_only():
    from hil.models.digits import load_digits_sequences

    full = load_digits_sequences()
    part = _bench("ctrnn_search").validation_split(224, seed=1)
    assert len(part.y_test) == 224 and len(part.y_train) == len(full.y_train) - 224

    def rows(x, y):
        return Counter((tuple(r.tolist()), int(c)) for r, c in zip(x, y))

    assert rows(part.x_train, part.y_train) + rows(part.x_test, part.y_test) == rows(full.x_train, full.y_train)
    with pytest.raises(ValueError):
        _bench("ctrnn_search").validation_split(0, seed=1)
