"""Bench files that ship with spin-hil (data only; read with ``hil.bench.shipped_bench``)."""
