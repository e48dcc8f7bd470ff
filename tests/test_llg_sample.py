"""SkyrmionSample as a FieldDrivenSample, and the bad-input errors of the twin."""

import math

import numpy as np
import pytest

from hil.roles import FieldDrivenSample
from hil.sim.llg import (Integrator, LatticeParams, LLGInputError, Pulse, SkyrmionSample, UnstableTimeStepError,
                     max_time_step, relaxed_skyrmion, simulate)
from hil.sim.llg.fields import BatchField
from hil.sim.llg.units import FS, PS

P = LatticeParams(L=16)


@pytest.fixture(scope="module")
def skyrmion():
    return relaxed_skyrmion(P, cache_dir=False)


def test_sample_satisfies_role(skyrmion):
    s = SkyrmionSample(P, alpha=0.3, compile=False)
    assert isinstance(s, FieldDrivenSample)
    sz = s.sz()
    assert sz.shape == (16, 16) and sz.dtype == np.float32
    np.testing.assert_allclose(sz, skyrmion[2], atol=1e-6)


def test_sample_callable_matches_pulse_batch(skyrmion):
    pulse = Pulse.from_degrees(t_w=0.5 * PS, theta_deg=40, t_p=1 * PS)
    s = SkyrmionSample(P, alpha=0.36, compile=False)
    s.start(lambda t: pulse(t))  # an arbitrary callable (the coil's B(t))
    s.advance_to(1.5 * PS)
    integ = Integrator(P, skyrmion, 0.36, 0.0, BatchField([pulse]), dt=2 * FS, compile=False)
    integ.advance_to(1.5 * PS)
    np.testing.assert_allclose(s.spins(), integ.spins[0].numpy(), atol=1e-12)
    assert s.time == pytest.approx(1.5 * PS)
    # off-grid times end with one shorter step, and restart resets the clock and state
    s.advance_to(1.5 * PS + 0.7 * FS)
    assert s.time == pytest.approx(1.5 * PS + 0.7 * FS)
    s.start(lambda t: np.zeros(3))
    assert s.time == 0
    np.testing.assert_allclose(s.sz(), skyrmion[2], atol=1e-6)
    assert s.label() == "breathing"


def test_sample_errors():
    s = SkyrmionSample(P, compile=False)
    with pytest.raises(LLGInputError, match="start"):
        s.advance_to(1 * PS)
    with pytest.raises(LLGInputError, match="callable"):
        s.start(np.zeros(3))
    s.start(lambda t: np.array([0.0, 0.0, np.nan]) if t > 0.5 * PS else np.zeros(3))
    with pytest.raises(LLGInputError, match="not finite"):
        s.advance_to(1 * PS)
    with pytest.raises(LLGInputError, match="3-vector"):
        s.start(lambda t: np.zeros(2))  # checked at the trigger, not mid-run
    s.start(lambda t: np.zeros(3))
    s.advance_to(0.1 * PS)
    with pytest.raises(LLGInputError, match="back in time"):
        s.advance_to(0.05 * PS)


@pytest.mark.parametrize("kwargs, match", [
    (dict(alpha=-0.1), "damping"),
    (dict(temperature=-1.0), "temperature"),
    (dict(dt=0.0), "dt"),
    (dict(alpha=float("nan")), "finite"),
])
def test_sample_rejects_bad_settings(kwargs, match):
    with pytest.raises(LLGInputError, match=match):
        SkyrmionSample(P, compile=False, **kwargs)


def test_bad_parameters():
    with pytest.raises(LLGInputError, match="L ≥ 8"):
        LatticeParams(L=4)
    with pytest.raises(LLGInputError, match="mu_s"):
        LatticeParams(mu_s=0)
    with pytest.raises(LLGInputError, match="t_w"):
        Pulse(t_w=0.0, theta=0.5)
    with pytest.raises(LLGInputError, match="t_w"):
        Pulse(t_w=-1e-12, theta=0.5)
    with pytest.raises(LLGInputError, match="radians"):
        Pulse(t_w=1e-12, theta=40)  # degrees by mistake
    with pytest.raises(LLGInputError, match="finite"):
        Pulse(t_w=1e-12, theta=0.5, B0=float("nan"))
    assert Pulse.from_degrees(1e-12, 90).direction == pytest.approx([1, 0, 0])


def test_simulate_rejects_bad_input(skyrmion):
    pulse = Pulse(t_w=1 * PS, theta=0.5)
    with pytest.raises(LLGInputError, match="damping"):
        simulate(P, [-0.1], pulse, compile=False)
    with pytest.raises(LLGInputError, match="one pulse per sample"):
        simulate(P, [0.1, 0.2, 0.3], [pulse, pulse], compile=False)
    with pytest.raises(LLGInputError, match="frame_times"):
        simulate(P, 0.1, pulse, frame_times=[2 * PS, 1 * PS], compile=False)


def test_unstable_time_step_names_the_remedy(skyrmion):
    strong = BatchField([Pulse(t_w=1 * PS, theta=0.3, B0=2000.0, t_p=0.0)])
    integ = Integrator(P, skyrmion, 0.1, 0.0, strong, dt=2 * FS, compile=False)
    with pytest.raises(UnstableTimeStepError) as err:
        integ.advance_to(1 * PS)
    dt_max = max_time_step(P, 2000.0)
    assert err.value.dt_max == pytest.approx(dt_max, rel=1e-6)
    assert f"use dt ≤ {dt_max / FS:.3g} fs" in str(err.value)
    # the step it recommends is accepted
    Integrator(P, skyrmion, 0.1, 0.0, strong, dt=err.value.dt_max, compile=False).advance_to(20 * FS)
    # far too long a step for the exchange field alone
    with pytest.raises(UnstableTimeStepError):
        Integrator(P, skyrmion, 0.1, 0.0, BatchField([lambda t: np.zeros(3)]), dt=50 * FS,
                   compile=False).advance_to(1 * PS)


def test_blow_up_is_reported(skyrmion, monkeypatch):
    import hil.sim.llg.integrator as integ_mod
    monkeypatch.setattr(integ_mod, "MAX_ANGLE_PER_STEP", math.inf)  # disable the a-priori check
    field = BatchField([lambda t: np.array([0.0, 0.0, 1e300])])
    integ = Integrator(P, skyrmion, 0.1, 0.0, field, dt=2 * FS, compile=False)
    with np.errstate(all="ignore"), pytest.raises(UnstableTimeStepError, match="NaN"):
        integ.advance_to(0.1 * PS)


def test_unstable_time_step_marks_the_diagram_run_failed(tmp_path):
    from hil.store import Store
    from hil.sim.llg.diagram import DiagramSpec, sweep

    spec = DiagramSpec(alphas=(0.3,), widths=(1 * PS,), size=16, frame_times=(0.0, 1 * PS), dt=50 * FS,
                       t_p=1 * PS, settle=0.0, max_time=2 * PS, batch=1)
    with pytest.raises(UnstableTimeStepError, match="use dt ≤"):
        sweep(spec, tmp_path / "d.h5", progress=False)
    with Store(tmp_path / "d.h5", "r") as store:
        (info,) = store.runs()
        assert info.status == "failed"
        assert "UnstableTimeStepError" in info.message and "use dt ≤" in info.message
