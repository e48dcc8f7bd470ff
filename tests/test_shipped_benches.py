"""The benches that ship with the repository are valid."""

from __future__ import annotations

from hil.bench import load_bench


def test_shipped_benches_are_valid():
    # sim.toml needs every twin; lab.example.toml every real driver class
    from hil.bench import default_bench_path

    spec = load_bench(default_bench_path())
    assert set(spec.roles) == {"pulse_generator", "frame_source", "bias_source", "spectrum_analyser"}
    for name in ("lab.example.toml", "sim-over-scpi.toml"):
        real = load_bench(default_bench_path().with_name(name))
        assert all(r.kind == "driver" for r in real.roles.values())
