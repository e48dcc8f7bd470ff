"""Store throughput: records/s and MB/s for the two record shapes the lab writes.

- ``trace``: one 20 001-point float64 spectrum plus its frequency axis and two
  scalars (a bias-sweep point), 320 kB of payload per record;
- ``frames``: 8 frames of 100 × 100 float32 (stored float32, chunked, gzip)
  plus their 8 times and two scalars (a pulse_frames point), 320 kB per record.

Every record is flushed by the store before ``write_record`` returns, so the
figure is what a measurement loop sees. Reading back (``run.records()``,
verifying checksums where the store has them) is timed too. MB = 10⁶ bytes of
numpy payload, not of file size (gzip makes the frames file smaller).

Usage: ``.venv/bin/python benchmarks/store_throughput.py --label before``;
results merge into ``benchmarks/results/store_throughput.json`` under the label.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
if os.environ.get("STORE_BENCH_CODE"):  # a folder with another hil/ (e.g. the committed store) to compare
    sys.path.insert(0, os.environ["STORE_BENCH_CODE"])

from hil.store import Store  # noqa: E402


def _records(kind: str, n: int):
    rng = np.random.default_rng(0)
    if kind == "trace":
        freq = np.linspace(1e9, 11e9, 20_001)
        for i in range(n):
            yield {"current": 1e-4 * i, "peak_frequency": 5e9 + i,
                   "frequency": freq, "power_dbm": rng.normal(-90, 3, 20_001)}
    else:
        times = np.arange(8) * 15e-12
        for i in range(n):
            yield {"width": 8e-12, "amplitude": 5.0, "times": times,
                   "frames": rng.uniform(-1, 1, (8, 100, 100)).astype(np.float32)}


def _payload(rec) -> int:
    return sum(np.asarray(v).nbytes for v in rec.values() if not np.isscalar(v))


def bench(kind: str, n: int, tmp: Path) -> dict:
    recs = list(_records(kind, n))
    nbytes = sum(_payload(r) for r in recs)
    path = tmp / f"{kind}.h5"
    t0 = time.perf_counter()
    with Store(path) as store:
        run = store.create_run(kind, {"n": n})
        for i, rec in enumerate(recs):
            run.write_record(i, rec)
        run.finish("complete")
        run_id = run.run_id
    write_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    with Store(path, "r") as store:
        got = sum(1 for _ in store.run(run_id).records())
    read_s = time.perf_counter() - t0
    assert got == n
    disk = path.stat().st_size if path.is_file() else sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return {"records": n, "payload_MB": nbytes / 1e6, "disk_MB": disk / 1e6,
            "write_s": write_s, "write_records_per_s": n / write_s, "write_MB_per_s": nbytes / 1e6 / write_s,
            "read_s": read_s, "read_records_per_s": n / read_s, "read_MB_per_s": nbytes / 1e6 / read_s}


def _code_version() -> str:
    def git(*a):
        return subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    import hil.store

    if os.environ.get("STORE_BENCH_CODE"):
        return f"{git('rev-parse', '--short', 'HEAD')} committed hil/store.py (from {os.environ['STORE_BENCH_CODE']})"
    store_files = sorted(Path(hil.store.__file__).parent.glob("store*.py"))
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in store_files)).hexdigest()[:12]
    dirty = " (store modified)" if git("status", "--porcelain", "hil/store.py") else ""
    return f"{git('rev-parse', '--short', 'HEAD')}{dirty}; hil/store*.py sha256 {digest}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--label", default="run")
    ap.add_argument("--records", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3, help="best of N")
    ap.add_argument("--out", default=str(ROOT / "benchmarks/results/store_throughput.json"))
    args = ap.parse_args()
    load_before = os.getloadavg()
    results = {}
    for kind in ("trace", "frames"):
        best = None
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory() as d:
                r = bench(kind, args.records, Path(d))
            if best is None or r["write_s"] < best["write_s"]:
                best = r
        results[kind] = best
        print(f"{args.label:>8} {kind:>6}: write {best['write_records_per_s']:7.1f} rec/s "
              f"{best['write_MB_per_s']:7.1f} MB/s | read {best['read_records_per_s']:7.1f} rec/s "
              f"{best['read_MB_per_s']:7.1f} MB/s | disk {best['disk_MB']:.1f} MB", flush=True)
    entry = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cpus, Python {platform.python_version()}",
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "load": {"before": load_before, "after": os.getloadavg()},
        "code_version": _code_version(),
        "best_of": args.repeat,
        "results": results,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(out.read_text()) if out.exists() else {}
    data[args.label] = entry
    out.write_text(json.dumps(data, indent=2) + "\n")
    print(f"wrote {out} [{args.label}]")


if __name__ == "__main__":
    main()
