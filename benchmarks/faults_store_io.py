"""Fault figures for the store beyond SIGKILL: disk full, byte flips anywhere in a segment, a second writer.

- disk full: a writer finishes run ``first`` (10 records), then writes run
  ``second`` under ``RLIMIT_FSIZE`` set to a random 3 kB–2 MB; afterwards
  ``first`` must read back whole and every record ``second`` reported finished
  must read back with its values.
- byte flips: 3 bytes XOR-ed at a random offset of a finished segment (data,
  chunk index or HDF5 metadata alike); then every record is read: it must come
  back exactly as written or raise — never read back wrong ("silently wrong"
  must be 0). Raised as StoreError (named damage) or as another error is counted.
- second writer: while a writer process holds a store open, a second process
  opening it for writing must be refused; the first writer's records intact.

    .venv/bin/python benchmarks/faults_store_io.py --trials 20
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from _record import provenance, write_result  # noqa: E402
from tests.test_store_faults import DISK_FULL  # noqa: E402

from hil.errors import StoreError  # noqa: E402
from hil.store import Store  # noqa: E402

HOLDER = r"""
import sys, time, numpy as np
from hil.store import Store
with Store(sys.argv[1]) as store:
    run = store.create_run("p", {}, run_id="held")
    for i in range(5):
        run.write_record(i, {"trace": np.full(1001, float(i))})
    print("holding", flush=True)
    time.sleep(float(sys.argv[2]))
    run.finish()
"""


def disk_full(folder: Path, rng: random.Random) -> dict:
    path = folder / f"full-{rng.random():.9f}.h5"
    limit = rng.randint(3_000, 2_000_000)
    proc = subprocess.run([sys.executable, "-c", DISK_FULL, str(path), str(limit)], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    lines = proc.stdout.split()
    finished = [int(x) for x in lines[:lines.index("error")]] if "error" in lines else None
    if finished is None:
        return {"survived": False, "lost": 0, "why": proc.stdout[-300:] + proc.stderr[-300:]}
    lost = 0
    with Store(path, "r") as store:
        first, second = store.run("first"), store.run("second")
        lost += 10 - sum(1 for r in first.records() if np.all(r["trace"] == r.index))
        done = set(second.completed())
        lost += sum(1 for i in finished if i not in done or not np.all(second.record(i)["trace"] == i))
    return {"survived": lost == 0, "lost": lost, "why": ""}


def byte_flip(folder: Path, rng: random.Random) -> dict:
    path = folder / f"flip-{rng.random():.9f}.h5"
    values = {i: -89.65 + i for i in range(8)}
    with Store(path) as store:
        run = store.create_run("p", {}, run_id="r")
        for i, v in values.items():
            run.write_record(i, {"power_dbm": np.full(2001, v), "current": 1e-3 * i})
        run.finish()
    seg = path / "runs" / "r" / "seg-0000.h5"
    size = seg.stat().st_size
    offset = rng.randrange(0, size - 3)
    with open(seg, "r+b") as fh:
        fh.seek(offset)
        data = bytearray(fh.read(3))
        fh.seek(offset)
        fh.write(bytes(b ^ 0x5A for b in data))
    exact = named = other = wrong = 0
    try:
        with Store(path, "r") as store:
            run = store.run("r")
            for i, v in values.items():
                try:
                    rec = run.record(i)
                    if np.all(rec["power_dbm"] == v) and rec["current"] == 1e-3 * i:
                        exact += 1
                    else:
                        wrong += 1
                except StoreError:
                    named += 1
                except Exception:
                    other += 1
    except StoreError:
        named += len(values)
    except Exception:
        other += len(values)
    # a record refused as damaged can no longer be read: it counts as lost; "survived" means none read back wrong
    return {"survived": wrong == 0, "lost": named + other, "exact": exact, "named": named, "other": other, "wrong": wrong,
            "why": f"offset {offset}: {wrong} records read back wrong" if wrong else ""}


def second_writer(folder: Path, rng: random.Random) -> dict:
    path = folder / f"two-{rng.random():.9f}.h5"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(path), "3"], stdout=subprocess.PIPE, text=True,
                              cwd=ROOT)
    assert holder.stdout.readline().strip() == "holding"
    refused = False
    try:
        with Store(path) as store:
            store.create_run("p", {}, run_id="intruder")
    except StoreError:
        refused = True
    holder.wait(30)
    with Store(path, "r") as store:
        run = store.run("held")
        lost = 5 - sum(1 for r in run.records() if np.all(r["trace"] == r.index))
        intruder = "intruder" in store.run_ids()
    ok = refused and not intruder and lost == 0 and run.status == "complete"
    return {"survived": ok, "lost": lost, "why": "" if ok else f"refused={refused} intruder={intruder} lost={lost}"}


FAULTS = {"disk full": disk_full, "byte flip": byte_flip, "second writer": second_writer}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    header = provenance(None, __file__)
    rows = {}
    start = time.time()
    with tempfile.TemporaryDirectory() as d:
        for name, fn in FAULTS.items():
            trials = [fn(Path(d), rng) for _ in range(args.trials)]
            rows[name] = {"tried": len(trials), "survived": sum(t["survived"] for t in trials),
                          "finished_records_lost": sum(t["lost"] for t in trials)}
            if name == "byte flip":
                for k in ("exact", "named", "other", "wrong"):
                    rows[name][f"records_{k}"] = sum(t[k] for t in trials)
            for t in trials:
                if t["why"]:
                    print(f"--- {name}: {t['why']}", file=sys.stderr)
    print("| fault | tried | survived | finished records lost | note |")
    print("|---|---|---|---|---|")
    for name, r in rows.items():
        note = (f"records read: {r['records_exact']} exact, {r['records_named']} refused as damaged (StoreError), "
                f"{r['records_other']} refused by another error, {r['records_wrong']} silently wrong"
                if name == "byte flip" else "")
        print(f"| {name} | {r['tried']} | {r['survived']} | {r['finished_records_lost']} | {note} |")
    wall = time.time() - start
    print(f"\n{wall:.0f} s in all")
    results = Path(os.environ.get("HIL_RESULTS_DIR") or ROOT / "benchmarks" / "results")
    write_result(results / "faults_store_io.json",
                 {**header, "trials": args.trials, "seed": args.seed, "rows": rows, "wall_s": wall})
    # flipped bytes may destroy records (counted as lost); the promise there is that none reads back wrong
    ok = all(r["survived"] == r["tried"] and (name == "byte flip" or r["finished_records_lost"] == 0)
             for name, r in rows.items())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
