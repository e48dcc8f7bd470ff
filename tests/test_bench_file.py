"""Bench files: every fault is reported with file, key and reason, before anything connects."""

from __future__ import annotations

import pytest

from hil.bench import load_bench
from hil.errors import BenchError
from tests.conftest import LIMITS, OSCILLATOR_BENCH


def problems(path) -> list[tuple[str, str, str]]:
    with pytest.raises(BenchError) as info:
        load_bench(path)
    return info.value.problems


def test_valid_bench_loads_without_connecting(oscillator_bench):
    spec = load_bench(oscillator_bench)
    assert set(spec.roles) == {"bias_source", "spectrum_analyser"}
    assert spec.limits.max_bias_current == 0.005
    assert spec.roles["bias_source"].kind == "twin"
    assert "max_bias_current" in spec.text


def test_unknown_role(write_bench):
    path = write_bench(OSCILLATOR_BENCH + '\n[roles.lock_in]\ntwin = "sim-bias-source"\n')
    (f, key, reason), = problems(path)
    assert f == str(path) and key == "roles.lock_in"
    assert "unknown role" in reason and "bias_source" in reason


def test_unregistered_name_is_refused_with_the_known_names(write_bench):
    path = write_bench(OSCILLATOR_BENCH.replace("sim-bias-source", "sim-no-such-source"))
    (_, key, reason), = problems(path)
    assert key == "roles.bias_source.twin"
    assert "'sim-no-such-source' is not a registered twin" in reason
    assert "sim-bias-source" in reason and "chip-bias-source" in reason  # the list of known names


def test_class_that_does_not_satisfy_its_role(write_bench):
    # an analyser twin cannot play a bias source: it lacks set_current and the rest
    path = write_bench(OSCILLATOR_BENCH.replace(
        'twin = "sim-bias-source"', 'twin = "sim-spectrum-analyser"'))
    (_, key, reason), = problems(path)
    assert key == "roles.bias_source.twin"
    assert "does not satisfy role BiasSource" in reason and "set_current" in reason


def test_driver_without_resource(write_bench):
    path = write_bench(LIMITS + '[roles.bias_source]\ndriver = "keithley6221"\n')
    (_, key, reason), = problems(path)
    assert key == "roles.bias_source.resource" and "VISA resource" in reason


@pytest.mark.parametrize("line, reason", [
    ("max_pulse_amplitude = 5.0", "missing"),
    ("max_pulse_amplitude = 5.0", "not a number"),
])
def test_limit_missing_or_not_a_number(write_bench, line, reason):
    replacement = "" if reason == "missing" else 'max_pulse_amplitude = "five volts"'
    path = write_bench(OSCILLATOR_BENCH.replace(line, replacement))
    (_, key, got), = problems(path)
    assert key == "limits.max_pulse_amplitude" and reason in got


def test_every_problem_is_reported_at_once(write_bench):
    text = OSCILLATOR_BENCH.replace("max_bias_current = 0.005", "max_bias_current = -1")
    text = text.replace("sim-spectrum-analyser", "nowhere-analyser")
    text += '\n[roles.frame_source]\ntwin = "sim-frame-source"\nsample = "camera"\n'
    keys = {key for _, key, _ in problems(write_bench(text))}
    assert keys == {"limits.max_bias_current", "roles.spectrum_analyser.twin", "roles.frame_source.sample"}


def test_toml_syntax_error_names_the_line(write_bench):
    (_, key, reason), = problems(write_bench(LIMITS + "[roles.bias_source\n"))
    assert key == "" and "not valid TOML" in reason and "line" in reason


def test_message_lists_file_key_reason(write_bench):
    path = write_bench(OSCILLATOR_BENCH.replace("max_compliance_voltage = 10.0", ""))
    with pytest.raises(BenchError, match=rf"{path}: limits.max_compliance_voltage: missing"):
        load_bench(path)
