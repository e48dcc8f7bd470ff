"""SIGKILL of a direct store writer at random moments, shared by tests/test_store_faults.py
and benchmarks/faults_store.py.

Each round starts a writer that resumes run ``victim`` (or creates it) and writes
~73 kB records, printing each index once ``write_record`` has returned (= finished);
the round kills it after a random delay and then checks that every record ever
reported finished is still listed and reads back with its exact values.
"""

from __future__ import annotations

import random
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

WRITER = r"""
import sys, numpy as np
sys.path.insert(0, sys.argv[2])
from store_faults import make_record
from hil.store import Store
store = Store(sys.argv[1])
run = store.run("victim") if "victim" in store.run_ids() else store.create_run("faults", {}, run_id="victim")
run.discard_incomplete()
done = run.completed()
i = max(done) + 1 if done else 0
if run.status != "running":
    run.finish("running")
print("started", i, flush=True)
while True:
    run.write_record(i, make_record(i))
    print(i, flush=True)
    i += 1
"""


def make_record(i: int) -> dict:
    """~73 kB, its values a function of ``i``; every 100th record carries one more field (two new segments)."""
    rec = {"frames": np.full((4, 64, 64), i, dtype=np.float32), "trace": np.arange(1001) * float(i),
           "index": i, "label": "x" * (i % 13)}
    if i % 100 == 99:
        rec["extra"] = np.full(7, i)
    return rec


def record_ok(rec, i: int) -> bool:
    want = make_record(i)
    return (rec["index"] == i and rec["label"] == want["label"] and np.array_equal(rec["frames"], want["frames"])
            and np.array_equal(rec["trace"], want["trace"])
            and ("extra" not in want or np.array_equal(rec["extra"], want["extra"])))


def verify(path: Path, finished: set[int], new: set[int], full: bool, rng: random.Random) -> tuple[int, list[str]]:
    """(records lost, problems): every finished index listed; values checked (all, or new + 6 older)."""
    from hil.errors import StoreError
    from hil.store import Store

    problems = []
    try:
        with Store(path, "r") as store:
            run = store.run("victim")
            done = set(run.completed())
            missing = sorted(finished - done)
            problems += [f"record {i} finished but not listed" for i in missing]
            old = sorted((finished - new) & done)
            todo = sorted(finished & done) if full else sorted((new & done) | set(rng.sample(old, min(6, len(old)))))
            bad = 0
            for i in todo:
                try:
                    if not record_ok(run.record(i), i):
                        bad += 1
                        problems.append(f"record {i}: wrong values")
                except StoreError as exc:
                    bad += 1
                    problems.append(str(exc))
            return len(missing) + bad, problems
    except Exception as exc:  # the store itself unreadable: everything is lost
        return len(finished), [f"store unreadable: {exc}"]


def kill_loop(path: Path, kills: int, seed: int = 0, max_delay: float = 0.3, say=lambda s: None) -> dict:
    """SIGKILL ``kills`` writers at random moments; return tried, survived, finished, lost, problems."""
    rng = random.Random(seed)
    finished: set[int] = set()
    tried = survived = lost = 0
    problems: list[str] = []
    for k in range(kills):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(Path(__file__).parent)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        first = proc.stdout.readline()
        if not first.startswith("started"):
            proc.kill()
            err = proc.communicate()[1]
            problems.append(f"kill {k}: writer did not start: {err.strip()[-400:]}")
            tried += 1
            lost += 1
            continue
        time.sleep(rng.uniform(0.0, max_delay))
        proc.kill()
        out, _ = proc.communicate()
        new = {int(x) for x in out.split()}
        finished |= new
        tried += 1
        n_lost, why = verify(path, finished, new, full=(k == kills - 1), rng=rng)
        lost += n_lost
        survived += n_lost == 0
        problems += [f"kill {k}: {w}" for w in why]
        say(f"kill {k + 1}/{kills}: {len(new)} new records, {len(finished)} finished in all, lost {n_lost}")
    return {"tried": tried, "survived": survived, "finished_records": len(finished), "lost": lost,
            "problems": problems}
