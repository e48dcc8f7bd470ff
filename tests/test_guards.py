"""Safety limits refuse before anything reaches the instrument; the bench always ends safe."""

from __future__ import annotations

import pytest

from hil.bench import load_bench
from hil.errors import LimitError


def test_out_of_limit_current_never_reaches_the_twin(oscillator_bench):
    with load_bench(oscillator_bench).open() as bench:
        twin = bench.bias_source.instrument
        bench.bias_source.set_current(1e-3)
        before = list(twin.received)
        for bad in (0.0051, -0.006, float("nan"), float("inf")):
            with pytest.raises(LimitError):
                bench.bias_source.set_current(bad)
        with pytest.raises(LimitError, match="max_compliance_voltage"):
            bench.bias_source.set_compliance_voltage(11.0)
        assert twin.received == before
        assert twin.setpoint == pytest.approx(1e-3)


def test_refused_ramp_changes_nothing(oscillator_bench):
    with load_bench(oscillator_bench).open() as bench:
        twin = bench.bias_source.instrument
        with pytest.raises(LimitError, match="ramp target"):
            bench.bias_source.ramp_current(0.01, step=1e-3)
        assert not any(m == "set_current" for m, _ in twin.received)


def test_ramp_walks_in_bounded_steps(oscillator_bench):
    with load_bench(oscillator_bench).open() as bench:
        bench.bias_source.ramp_current(3e-3, step=1e-3)
        twin = bench.bias_source.instrument
        steps = [args[0] for m, args in twin.received if m == "set_current"]
        assert steps == pytest.approx([1e-3, 2e-3, 3e-3])


def test_guard_exposes_only_the_role(oscillator_bench):
    with load_bench(oscillator_bench).open() as bench:
        with pytest.raises(AttributeError, match="protocols may use"):
            bench.bias_source.delivered_current  # a twin-only method
        with pytest.raises(AttributeError):
            bench.spectrum_analyser.set_current


def test_outputs_off_and_closed_after_exception(oscillator_bench):
    spec = load_bench(oscillator_bench)
    with pytest.raises(RuntimeError, match="boom"):
        with spec.open() as bench:
            twin = bench.bias_source.instrument
            sample = twin.sample
            bench.bias_source.set_current(2e-3)
            bench.bias_source.output_on()
            assert sample.current[0] == pytest.approx(2e-3)
            raise RuntimeError("boom")
    assert twin.output is False and twin.closed
    assert sample.current[0] == 0.0  # the device really is unbiased
    assert [m for m, _ in twin.received][-2:] == ["shutdown", "close"]


def test_outputs_off_after_ctrl_c(oscillator_bench):
    spec = load_bench(oscillator_bench)
    with pytest.raises(KeyboardInterrupt):
        with spec.open() as bench:
            twin = bench.bias_source.instrument
            bench.bias_source.output_on()
            raise KeyboardInterrupt
    assert twin.output is False and twin.closed


def test_one_failing_shutdown_does_not_spare_the_others(oscillator_bench):
    spec = load_bench(oscillator_bench)
    bench = spec.open()
    analyser = bench.spectrum_analyser.instrument
    bias = bench.bias_source.instrument
    bench.bias_source.output_on()

    def broken():
        raise OSError("connection lost")

    analyser.shutdown = broken
    failures = bench.close()
    assert failures == ["spectrum_analyser.shutdown: connection lost"]
    assert bias.output is False and bias.closed and analyser.closed
