"""The physics label rule on synthetic final states."""

import math

import numpy as np
import pytest

from hil.sim.llg import label_process, skyrmion_ansatz, summarise_state

L = 40
H = -math.pi / 2


def _uniform(sign):
    s = np.zeros((3, L, L))
    s[2] = sign
    return s


INITIAL = skyrmion_ansatz(L, radius=4, helicity=H)[2]  # background −z


def test_breathing_kept_background_one_skyrmion():
    final = skyrmion_ansatz(L, radius=6, helicity=H, centre=(10, 30))  # grown and moved
    assert label_process(INITIAL, final) == "breathing"


def test_switching_reversed_background_one_skyrmion():
    final = -skyrmion_ansatz(L, radius=4, helicity=H)
    assert label_process(INITIAL, final) == "switching"


@pytest.mark.parametrize("sign", [-1, 1])
def test_collapse_no_skyrmion_either_background(sign):
    assert label_process(INITIAL, _uniform(sign)) == "collapse"


def test_mixed_two_skyrmions():
    a = skyrmion_ansatz(L, radius=3, helicity=H, centre=(10, 10))
    b = skyrmion_ansatz(L, radius=3, helicity=H, centre=(30, 30))
    final = np.where(a[2:3] > b[2:3], a, b)
    assert summarise_state(final).n_regions == 2
    assert label_process(INITIAL, final) == "mixed"


def test_mixed_stripe_domain():
    final = _uniform(-1)
    y = np.arange(L)[:, None] * np.ones(L)
    theta = np.pi * (1 + np.tanh((np.abs(y - L / 2) - 6) / 2)) / 2  # +z band, walls along x
    final = np.stack([np.zeros_like(theta), np.sin(theta), np.cos(theta)])
    summary = summarise_state(final)
    assert summary.n_regions == 1 and abs(summary.Q) < 0.5
    assert label_process(INITIAL, final) == "mixed"


def test_mixed_no_clear_background():
    final = np.zeros((3, L, L))
    final[0] = 1  # in-plane film
    assert label_process(INITIAL, final) == "mixed"


def test_lone_flipped_spins_are_not_skyrmions():
    final = _uniform(-1)
    final[:, 5, 5] = [0, 0, 1]
    final[:, 20, 31] = [0, 0, 1]
    assert label_process(INITIAL, final) == "collapse"


def test_skyrmion_across_periodic_edge_is_one_region():
    final = skyrmion_ansatz(L, radius=4, helicity=H, centre=(0, 0))
    assert summarise_state(final).n_regions == 1
    assert label_process(INITIAL, final) == "breathing"
    # with open boundaries the same spins are four pieces at the corners
    assert summarise_state(final, periodic=False).n_regions == 4


def test_initial_frame_without_background_raises():
    with pytest.raises(ValueError, match="no clear background"):
        label_process(np.zeros((L, L)), _uniform(-1))


def test_one_spelling_of_every_label():
    """The physics rule, the classifier, ONNX I/O and the plots share hil.labels; stored files hold these strings."""
    import hil.labels as labels
    from hil.labels import UNKNOWN
    from hil.sim.llg import LABELS

    assert labels.PHYSICS == ("breathing", "switching", "collapse", "mixed") and LABELS is labels.PHYSICS
    assert labels.CLASSES == labels.PHYSICS[:3] and labels.UNKNOWN == UNKNOWN == "mixed/unknown"
    assert set(labels.COLOURS) == set(labels.PHYSICS) | {labels.UNKNOWN}
    assert labels.agrees("mixed/unknown", "mixed") and labels.agrees("collapse", "collapse")
    assert not labels.agrees("collapse", "mixed") and not labels.agrees("mixed/unknown", "breathing")
