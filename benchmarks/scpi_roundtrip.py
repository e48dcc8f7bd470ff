"""Round-trip time of the SCPI twin server through real PyVISA (pyvisa-py) over TCP loopback.

Three figures, each the median and 90th percentile over a few hundred repetitions:
``*IDN?`` (the smallest query), a 1001-point REAL,32 trace (``:TRAC:DATA? TRACE1``,
4 kB block, read with PyVISA's block reader), and the X-series driver's whole
``sweep()`` (format, single sweep with ``*OPC?``, trace, start/stop queries). The
analyser behind the server is a recording stand-in, so the figures are the SCPI
layer's, not a twin's physics.

Twice: with the server in its own process (as ``hil twins serve`` runs it), and
in a thread of the client's process (as the tests run it), where client and
server share one GIL. Writes benchmarks/results/scpi_roundtrip.json.

    .venv/bin/python benchmarks/scpi_roundtrip.py [--reps 300]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
import pyvisa

from hil.drivers.keysight_xseries import KeysightXSeriesAnalyser
from hil.sim.scpi import serve_twins
from hil.sim.scpi.recorders import RecordingSpectrumAnalyser

RESULTS = Path(os.environ.get("HIL_RESULTS_DIR") or Path(__file__).parent / "results") / "scpi_roundtrip.json"  # run_all --quick: elsewhere
VISA = {"read_termination": "\n", "write_termination": "\n", "timeout": 5000}
SERVER = """
import signal
from hil.sim.scpi import serve_twins
from hil.sim.scpi.recorders import RecordingSpectrumAnalyser
group = serve_twins({"spectrum_analyser": ("keysight_xseries", RecordingSpectrumAnalyser())})
signal.signal(signal.SIGTERM, lambda *_: group.stop())
print(group.resources["spectrum_analyser"], flush=True)
group.run_forever()
"""


def timed(action: Callable[[], object], reps: int, warmup: int = 20) -> dict[str, float]:
    for _ in range(warmup):
        action()
    samples = []
    for _ in range(reps):
        start = time.perf_counter_ns()
        action()
        samples.append((time.perf_counter_ns() - start) / 1e3)
    samples.sort()
    return {
        "median_us": round(statistics.median(samples), 1),
        "p90_us": round(samples[int(0.9 * (len(samples) - 1))], 1),
        "min_us": round(samples[0], 1),
        "reps": reps,
    }


def measure(resource: str, reps: int) -> dict[str, dict[str, float]]:
    manager = pyvisa.ResourceManager("@py")
    inst = manager.open_resource(resource, **VISA)
    inst.write(":FREQ:CENT 5e9;SPAN 100e6;:SWE:POIN 1001;:INIT:CONT OFF;:FORM REAL,32;:FORM:BORD SWAP")
    assert inst.query(":INIT:IMM;*OPC?") == "1"
    trace = inst.query_binary_values(":TRAC:DATA? TRACE1", datatype="f", container=np.array)
    assert trace.size == 1001
    results = {
        "idn_query": timed(lambda: inst.query("*IDN?"), reps),
        "trace_1001_real32": timed(
            lambda: inst.query_binary_values(":TRAC:DATA? TRACE1", datatype="f", container=np.array), reps),
    }
    inst.close()
    driver = KeysightXSeriesAnalyser(resource, visa_library="@py", **VISA)
    driver.configure_sweep(5e9, 100e6, 1e5, 1e5, 1001)
    results["driver_sweep_1001"] = timed(driver.sweep, reps)
    assert driver.check_errors() == []
    driver.close()
    manager.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=300)
    args = parser.parse_args()
    load_before = os.getloadavg()[0]

    server = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True,
                              cwd=Path(__file__).resolve().parent.parent)
    try:
        resource = server.stdout.readline().strip()
        results = {"server_process": measure(resource, args.reps)}
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(10)
    with serve_twins({"spectrum_analyser": ("keysight_xseries", RecordingSpectrumAnalyser())}) as group:
        results["server_thread"] = measure(group.resources["spectrum_analyser"], args.reps)

    report = {
        "benchmark": "scpi_roundtrip",
        "what": "PyVISA (pyvisa-py) → TCP loopback → sim.scpi twin server (keysight_xseries dialect)",
        "results": results,
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": os.cpu_count(), "pyvisa": pyvisa.__version__,
                    "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)]},
        "note": "p90 is set by the scheduler when other jobs load the CPUs; compare medians",
        "date": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    from _record import save  # command, machine, date, load, code version (benchmarks/_record.py)
    save(RESULTS, report, __file__, indent=2)
    for where, figures in results.items():
        for name, r in figures.items():
            print(f"{where:<15} {name:<18} median {r['median_us']:8.1f} µs   p90 {r['p90_us']:8.1f} µs"
                  f"   ({r['reps']} reps)")
    print(f"written {RESULTS}")


if __name__ == "__main__":
    main()
