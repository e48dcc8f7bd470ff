"""A seed is a seed for every model behind a published figure (issue 19).

Per family (oscillator net, CTRNN, Spin-NODE, stray-field CNN, process
classifier): a tiny model is trained twice from the same seed with the
project's own trainer, one torch thread, and its weights must be bit for bit
the same (``benchmarks/_record.weights_digest`` and ``torch.equal`` on every
tensor); between the two runs the global torch and NumPy generators are moved
on, so a trainer that drew from them would fail here. Training from another
seed must give other weights (so the test can fail). The data come from the
project's generators where they are cheap (digits, stray-field ellipses) and
are otherwise small synthetic sets, drawn from fixed local generators.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from _record import weights_digest  # noqa: E402


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def disturb_global_generators() -> None:
    """Move the global torch and NumPy streams on, as other code in the same process would."""
    torch.rand(17)
    torch.randn(5, 3)
    np.random.rand(11)


# -- the families: seed → trained model (each a second or so) -------------------------------------------

def train_oscillator_net(seed: int):
    from hil.models.digits import load_digits_sequences
    from hil.models.oscillator_net import OscillatorNet
    from hil.models.train import TrainConfig, fit

    net = OscillatorNet(hidden=(6, 6), density=0.5, seed=seed)
    fit(net, load_digits_sequences(limit=120), TrainConfig(epochs=1, batch=30))
    return net


def train_ctrnn(seed: int):
    from hil.models.ctrnn import CTRNN
    from hil.models.digits import load_digits_sequences
    from hil.models.train import TrainConfig, fit

    net = CTRNN(hidden=(6, 6), density=0.5, seed=seed)
    fit(net, load_digits_sequences(limit=120), TrainConfig(epochs=1, batch=30, lr0=0.02))
    return net


def _node_traces():
    from hil.models.spin_node.data import Trace

    rng = np.random.default_rng(1234)  # fixed data: only the training seed varies
    traces = []
    for i in range(2):
        t = 1e-12 * np.arange(120)
        u = np.repeat(rng.uniform(-1, 1, 12), 10)
        y = np.zeros_like(u)
        for k in range(1, len(u)):  # a leaky first-order device
            y[k] = 0.8 * y[k - 1] + 0.2 * np.tanh(2 * u[k - 1])
        traces.append(Trace(t, y, u[:, None], source=f"synthetic/{i}"))
    return traces


def train_spin_node(seed: int, solver: str = "rk4"):
    from hil.models.spin_node.train import TrainConfig, train

    cfg = TrainConfig(window=8, batch=8, max_iters=12, eval_every=6, threshold=0.0, seed=seed, solver=solver)
    return train(_node_traces(), embed=2, hidden=8, config=cfg)


def _stray_sets():
    from hil.models.stray_cnn import Dataset
    from hil.sim.stray.shapes import ShapeSpec, generate

    spec = ShapeSpec(pixels=16, fine=2)
    samples = list(generate(spec, 12, seed=7))
    arrays = {k: np.stack([s[k] for s in samples]).astype(np.float32) for k in ("bz", "amplitude", "mz")}
    theta = np.array([s["theta"] for s in samples])
    sets = [Dataset(arrays["bz"][s], arrays["amplitude"][s], arrays["mz"][s], theta[s])
            for s in (slice(0, 8), slice(8, None))]
    return sets


def train_stray_cnn(seed: int):
    from hil.models.stray_cnn import CNNConfig, TrainConfig, train

    train_set, val_set = _stray_sets()
    cfg = TrainConfig(epochs=2, batch=4, seed=seed, noise=0.01,
                      cnn=CNNConfig(channels=(4, 4, 4), depth=3, width=4, head=4))
    model, _ = train(train_set, val_set, cfg)
    return model


def _processes():
    from hil.models.process_data import Processes

    rng = np.random.default_rng(99)
    labels = ["breathing", "switching", "collapse", "mixed"] * 4
    level = {"breathing": 0.8, "switching": -0.8, "collapse": 0.2, "mixed": 0.0}
    frames = np.stack([np.clip(level[lab] + 0.3 * rng.standard_normal((3, 8, 8)), -1, 1) for lab in labels])
    n = len(labels)
    return Processes(frames.astype(np.float32), labels, np.linspace(0.1, 0.5, n), np.linspace(4e-12, 36e-12, n),
                     [f"synthetic:{i}" for i in range(n)])


def train_classifier_model(seed: int):
    from hil.models.classifier import LABELS_WITH_MIXED, ClassifierConfig
    from hil.models.train_classifier import train_classifier

    cfg = ClassifierConfig(preprocessing="quantiles", input_size=16, hidden=12, labels=LABELS_WITH_MIXED)
    return train_classifier(_processes(), cfg, epochs=3, batch=4, seed=seed, progress=False).model


FAMILIES = {
    "oscillator_net": train_oscillator_net,
    "ctrnn": train_ctrnn,
    "spin_node_rk4": train_spin_node,
    "spin_node_torchdiffeq": lambda seed: train_spin_node(seed, solver="torchdiffeq"),
    "stray_cnn": train_stray_cnn,
    "classifier": train_classifier_model,
}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_same_seed_same_weights_bit_for_bit(family):
    train = FAMILIES[family]
    first = train(3)
    disturb_global_generators()
    second = train(3)
    a, b = first.state_dict(), second.state_dict()
    assert list(a) == list(b)
    for name in a:
        assert torch.equal(a[name], b[name]), f"{family}: {name} differs between two runs of seed 3"
    assert weights_digest(first) == weights_digest(second)
    other = train(4)
    assert weights_digest(other) != weights_digest(first), f"{family}: seeds 3 and 4 trained the same weights"


def test_weights_digest_sees_one_flipped_bit_and_ignores_the_rest_of_a_checkpoint(tmp_path):
    net = train_classifier_model(0)
    state = net.state_dict()
    digest = weights_digest(net)
    assert weights_digest(state) == digest
    torch.save({"config": {"any": 1}, "state": state, "extra": {"date": "today"}}, tmp_path / "m.pt")
    assert weights_digest(tmp_path / "m.pt") == digest
    flipped = {k: v.clone() for k, v in state.items()}
    w = flipped["out.bias"]
    w.view(torch.int32)[0] ^= 1  # the last bit of one float
    assert weights_digest(flipped) != digest
    np.savez(tmp_path / "m.npz", **{k: v.numpy() for k, v in state.items()})
    assert weights_digest(tmp_path / "m.npz") == digest


def test_the_per_seed_digest_of_an_ensemble_is_the_solo_runs():
    """benchmarks/oscillator_digits.py records one digest per seed: retraining that seed alone must give it."""
    from oscillator_digits import seed_digests

    from hil.models.digits import load_digits_sequences
    from hil.models.oscillator_net import OscillatorNet
    from hil.models.train import TrainConfig, fit

    data, cfg = load_digits_sequences(limit=120), TrainConfig(epochs=1, batch=30)
    pair = OscillatorNet(hidden=(6, 6), density=0.5, seeds=(5, 6))
    solo = OscillatorNet(hidden=(6, 6), density=0.5, seed=6)
    fit(pair, data, cfg)
    disturb_global_generators()
    fit(solo, data, cfg)
    assert seed_digests(pair)[1] == seed_digests(solo)[0] == weights_digest(solo)
    assert seed_digests(pair)[0] != seed_digests(pair)[1]
