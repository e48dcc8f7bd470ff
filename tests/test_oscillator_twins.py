"""The oscillator sample and the bias / analyser twins obey their physics."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from hil.sim.oscillator import OscillatorArray, logistic_step
from hil.sim.twins import SimBiasSource, SimSpectrumAnalyser


@pytest.mark.parametrize("drive", [0.0, 0.5, 1.0, 2.0, 5.0])
def test_exact_step_matches_a_fine_ode_solve(drive):
    gamma, p0, t = 1 / 14.12e-9, 0.3, 30e-9
    ref = solve_ivp(lambda _, p: -gamma * p + gamma * drive * p * (1 - p), (0, t), [p0], rtol=1e-10, atol=1e-14)
    got = logistic_step(np.array([p0]), np.array([drive]), np.array([gamma]), t)
    assert got[0] == pytest.approx(ref.y[0, -1], rel=1e-6, abs=1e-12)


def test_settles_at_the_auto_oscillation_fixed_point():
    s = OscillatorArray(n=3)
    for i, current in enumerate((0.5e-3, 2e-3, 4e-3)):
        s.set_bias(i, current)
    s.advance_to(2e-6)
    np.testing.assert_allclose(s.p, [s.p_min, 0.5, 0.75], rtol=1e-6)
    np.testing.assert_allclose(s.p, np.maximum(s.steady_power_fraction(), s.p_min), rtol=1e-6)


def test_compliance_limits_the_delivered_current():
    s = OscillatorArray(n=1, resistance=100.0)
    src = SimBiasSource(s, compliance_voltage=0.25)
    src.set_current(4e-3)
    src.output_on()
    assert src.in_compliance()
    assert src.measure_voltage() == pytest.approx(0.25)
    assert s.current[0] == pytest.approx(2.5e-3)
    src.set_compliance_voltage(1.0)
    assert src.measure_voltage() == pytest.approx(0.4) and not src.in_compliance()


def test_twin_refuses_out_of_range_current_and_keeps_setpoint():
    src = SimBiasSource(OscillatorArray(n=1))
    src.set_current(1e-3)
    with pytest.raises(ValueError, match="outside the source range"):
        src.set_current(0.2)
    assert src.get_current() == pytest.approx(1e-3)


def test_analyser_sees_the_line_and_an_rbw_scaled_floor():
    s = OscillatorArray(n=2)
    s.set_bias(1, 2e-3)
    s.advance_to(1e-6)
    sa = SimSpectrumAnalyser(s, seed=3)
    sa.configure_sweep(4.75e9, 1.0e9, 1e6, 1e3, 2001)  # narrow VBW: a smooth floor
    f, p = sa.sweep()
    assert f[np.argmax(p)] == pytest.approx(s.frequencies()[1], abs=1e6)
    floors = []
    for rbw in (1e5, 1e6):
        sa.configure_sweep(4.2e9, 1e8, rbw, rbw / 1000, 501)
        floors.append(np.median(sa.sweep()[1]))
    assert floors[1] - floors[0] == pytest.approx(10.0, abs=0.3)  # 10 dB per decade of RBW


def test_zero_span_follows_the_power_with_the_rbw_response():
    s = OscillatorArray(n=1)
    sa = SimSpectrumAnalyser(s)
    s.set_bias(0, 3e-3)
    t, p = sa.zero_span(s.f0[0] + s.shift * (1 - 1 / 3), 3e6, 1e-6, 401)
    assert t[0] == 0 and t[-1] == pytest.approx(1e-6)
    assert p[-1] > p[0] + 20  # the oscillation grows from the thermal floor
    assert np.all(np.diff(p[50:]) > -0.5)  # and rises smoothly through the filter
    with pytest.raises(ValueError, match="RBW"):
        sa.zero_span(4e9, 50e6, 1e-6, 11)
