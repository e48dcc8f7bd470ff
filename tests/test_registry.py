"""Bench files name registered entries only: nothing a bench file says is imported or executed."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings

import pytest

from hil import registry
from hil.bench import load_bench
from hil.errors import BenchError
from tests.conftest import LIMITS, OSCILLATOR_BENCH


def run_python(code: str, env_path: str | None = None) -> subprocess.CompletedProcess:
    env = None
    if env_path is not None:
        import os

        env = dict(os.environ, PYTHONPATH=env_path)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=60, env=env)


def test_os_system_as_a_sample_is_refused_and_never_run(write_bench, tmp_path):
    marker = tmp_path / "pwned"
    path = write_bench(LIMITS + f'[samples.x]\nclass = "os.system"\noptions = {{ command = "touch {marker}" }}\n'
                       '[roles.bias_source]\ntwin = "sim-bias-source"\nsample = "x"\n')
    with pytest.raises(BenchError) as info:
        load_bench(path)
    keys = {key: reason for _, key, reason in info.value.problems}
    assert "not a registered sample" in keys["samples.x.class"] and "llg-sample" in keys["samples.x.class"]
    assert "import paths" in keys["samples.x.class"]
    assert not marker.exists()


def test_bench_check_imports_no_module_a_bench_file_names(write_bench):
    # `this` prints the Zen of Python at import: a bench file must not be able to run a module's top level
    path = write_bench(OSCILLATOR_BENCH.replace('"sim-bias-source"', '"this.Zen"'))
    out = run_python(f"""
        import sys
        from hil.bench import load_bench
        from hil.errors import BenchError
        try:
            load_bench({str(path)!r})
        except BenchError as exc:
            print("refused:", exc.problems[0][2])
        print("imported this:", "this" in sys.modules)
    """)
    assert out.returncode == 0, out.stderr
    assert "refused: 'this.Zen' is not a registered twin" in out.stdout
    assert "imported this: False" in out.stdout
    assert "Beautiful is better than ugly" not in out.stdout


@pytest.mark.parametrize("old, kind, name", [
    ("drivers.keithley.Keithley6221Bias", "driver", "keithley6221"),
    ("hil.drivers.keithley.Keithley2400Bias", "driver", "keithley2400"),
    ("sim.twins.SimBiasSource", "twin", "sim-bias-source"),
    ("sim.twins.samples.skyrmion_sample", "sample", "llg-sample"),
    ("sim.chip.OscillatorChip", "sample", "oscillator-chip"),
])
def test_old_dotted_paths_of_own_classes_map_to_their_names(old, kind, name):
    assert registry.name_for_legacy_path(kind, old) == name


def test_old_dotted_path_in_a_bench_file_loads_with_a_deprecation(write_bench):
    path = write_bench(OSCILLATOR_BENCH.replace('"sim-bias-source"', '"sim.twins.SimBiasSource"'))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        spec = load_bench(path)
    assert spec.roles["bias_source"].name == "sim-bias-source"
    assert any(issubclass(w.category, FutureWarning) and "write 'sim-bias-source'" in str(w.message) for w in caught)
    assert spec.deprecations and "deprecated import path" in spec.deprecations[0]


def test_a_path_that_merely_looks_like_ours_is_not_translated():
    assert registry.name_for_legacy_path("twin", "sim.twins.os") is None
    assert registry.name_for_legacy_path("driver", "os.system") is None


def test_unknown_name_lists_the_registered_ones():
    with pytest.raises(registry.RegistryError, match="registered drivers: .*keithley6221"):
        registry.lookup("driver", "keithley9999")


def test_bench_check_list_names_every_entry_with_role_and_module():
    out = subprocess.run([sys.executable, "-m", "hil.app.cli", "bench", "check", "--list"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = {line.split()[0]: line for line in out.stdout.splitlines() if line.startswith("  ")}
    assert "bias_source" in lines["keithley6221"] and "hil.drivers.keithley:Keithley6221Bias" in lines["keithley6221"]
    assert "spectrum_analyser" in lines["sim-spectrum-analyser"]
    assert "hil.sim.twins.samples:skyrmion_sample" in lines["llg-sample"]
    for kind in registry.GROUPS:
        for name in registry.names(kind):
            assert name in lines


def test_a_third_party_plugin_registers_through_its_entry_point(tmp_path):
    # a minimal installed distribution: a module and its dist-info with an entry point
    (tmp_path / "acme_bias.py").write_text(textwrap.dedent("""
        from hil.sim.twins.bias import SimBiasSource

        class AcmeBias(SimBiasSource):
            '''A third-party twin: registered by its own package, not by spin-hil.'''
    """))
    info = tmp_path / "acme_bias-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-bias\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[spin_hil.twins]\nacme-bias = acme_bias:AcmeBias\n")
    bench = tmp_path / "acme.toml"
    bench.write_text(OSCILLATOR_BENCH.replace('"sim-bias-source"', '"acme-bias"'))
    out = run_python(f"""
        from hil.bench import load_bench
        spec = load_bench({str(bench)!r})
        print(spec.roles["bias_source"].name, spec.roles["bias_source"].cls.__name__)
    """, env_path=str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["acme-bias", "AcmeBias"]
