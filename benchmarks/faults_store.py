"""Fault figures for the store: SIGKILL of a direct writer at random moments.

Each kill: a fresh writer resumes run ``victim`` (or creates it), writes ~73 kB
records (every 100th with one more field, so segments roll over too) and is
SIGKILLed 0–0.3 s after it starts writing; then every record it ever reported
finished must be listed and read back with its exact values (new ones and a
sample of older ones every round, all of them after the last kill), and
``hil store check`` must pass. Prints tried / survived / finished records lost.

Usage: ``.venv/bin/python benchmarks/faults_store.py [--kills 120] [--seed 0]``;
writes ``benchmarks/results/faults_store.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from store_faults import kill_loop  # noqa: E402

from hil.store_check import check  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kills", type=int, default=120)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-delay", type=float, default=0.3, help="kill within this many seconds of the start [s]")
    ap.add_argument("--out", default=str(ROOT / "benchmarks/results/faults_store.json"))
    args = ap.parse_args()
    load = os.getloadavg()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "faults.h5"
        res = kill_loop(path, args.kills, seed=args.seed, max_delay=args.max_delay,
                        say=lambda s: print(s, flush=True))
        rep = check(path)
        segments = len(list((path / "runs" / "victim").glob("seg-*.h5")))
    wall = time.perf_counter() - t0
    print(f"SIGKILL of a direct writer: tried {res['tried']}, survived {res['survived']}, "
          f"finished records {res['finished_records']}, finished records lost {res['lost']}; "
          f"store check: {len(rep.damage)} damaged; {segments} segments; {wall:.0f} s")
    for p in res["problems"][:20]:
        print("  problem:", p)
    git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    entry = {"command": " ".join([Path(sys.executable).name, *sys.argv]), "date": dt.datetime.now().isoformat(timespec="seconds"),
             "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cpus",
             "load": {"before": load, "after": os.getloadavg()}, "code_version": git.strip() + " + working tree",
             "tried": res["tried"], "survived": res["survived"], "finished_records": res["finished_records"],
             "finished_records_lost": res["lost"], "check_damage": rep.damage, "segments": segments,
             "problems": res["problems"], "wall_s": wall}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(entry, indent=2) + "\n")
    sys.exit(1 if res["lost"] or rep.damage else 0)


if __name__ == "__main__":
    main()
