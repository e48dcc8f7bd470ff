"""``hil view`` in headless Chromium: page load time, update latency, and what the view costs a writer.

1. page load: from ``driver.get`` to the run's id on the page (the browser already started), ``--loads`` times;
2. update latency: this process writes a record (``write_record`` returns once it is committed and flushed)
   and polls the page until its point count shows it, ``--records`` times at a random phase to the view's tick;
3. the writer's points/s: a CPU-bound process-diagram sweep (``hil sim diagram``, LLG twin, one torch
   thread) timed from its run's start and end stamps, alternately without and with ``hil view`` open
   in the browser on it, ``--pairs`` times each; the view must not slow it by more than 5 %.

    python benchmarks/view_latency.py [--out benchmarks/results/view_latency.json]

Needs chromium, chromium-driver and selenium (see tests/test_view_browser.py). Writes a JSON with
command, machine, date, load before/after (benchmarks/_record.py).
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _record import provenance, write_result  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
# the page reader, free port and headless Chromium of the browser test: one copy
sys.path.insert(0, str(ROOT))
from tests.test_view_browser import PAGE_TEXT, browser, free_port  # noqa: E402,F401


def wait_for(driver, pattern: str, timeout: float = 30.0, poll: float = 0.01) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if re.search(pattern, driver.execute_script(PAGE_TEXT)):
            return time.perf_counter()
        time.sleep(poll)
    raise TimeoutError(f"{pattern!r} not on the page within {timeout} s")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its descendants so far (Linux /proc)."""
    import os

    kids: dict[int, list[int]] = {}
    for line in subprocess.run(["ps", "-e", "-o", "pid=,ppid="], capture_output=True, text=True).stdout.splitlines():
        p, pp = map(int, line.split())
        kids.setdefault(pp, []).append(p)
    total, stack = 0.0, [pid]
    while stack:
        p = stack.pop()
        stack += kids.get(p, [])
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            pass
    return total


def serve(store: Path, log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "hil.app.cli", "view", str(store), "--port", str(port),
                             "--no-stream"], stdout=log.open("w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    import urllib.request

    for _ in range(200):
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return proc, url
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"hil view did not start: {log.read_text()}")


def page_load_and_latency(tmp: Path, loads: int, records: int) -> dict:
    import numpy as np

    from hil.store import Store

    store_path = tmp / "latency.h5"
    store = Store(store_path)
    run = store.create_run("custom", {"note": "view latency benchmark"})
    run.write_record(0, {"x": np.zeros(401), "current": 0.0})
    view, url = serve(store_path, tmp / "view-latency.log")
    driver = browser()
    try:
        load_s = []
        for _ in range(loads):
            driver.get("about:blank")
            t0 = time.perf_counter()
            driver.get(url)
            load_s.append(wait_for(driver, re.escape(run.run_id) + r".*points: 1 / \?") - t0)
        latency_s = []
        for i in range(1, records + 1):
            time.sleep(random.uniform(0.5, 1.0))  # a random phase against the view's 0.3 s tick
            run.write_record(i, {"x": np.full(401, float(i)), "current": i * 1e-4})
            t_flush = time.perf_counter()  # write_record returns once the record is committed and flushed
            latency_s.append(wait_for(driver, rf"points: {i + 1} / \?") - t_flush)
        run.finish("complete")
    finally:
        driver.quit()
        view.terminate()
        view.wait(10)
        store.close()
    return {"page_load_s": load_s, "page_load_median_s": statistics.median(load_s),
            "update_latency_s": latency_s, "update_latency_median_s": statistics.median(latency_s),
            "update_latency_p90_s": float(np.percentile(latency_s, 90)), "update_latency_max_s": max(latency_s)}


def sweep_rate(tmp: Path, k: int, with_view: bool, args: argparse.Namespace) -> tuple[float, float]:
    """(points/s of the sweep, CPU share of the view server + browser during it, in cores)."""
    from hil.store import Store

    out = tmp / f"diagram-{k}-{'view' if with_view else 'alone'}.h5"
    view = driver = None
    if with_view:
        view, url = serve(out, tmp / f"view-{k}.log")
        driver = browser()
        driver.get(url)
        wait_for(driver, "spin-hil live view")
    t0 = time.perf_counter()
    cpu0 = cpu_seconds(view.pid) + cpu_seconds(driver.service.process.pid) if with_view else 0.0
    try:
        cmd = [sys.executable, "-m", "hil.app.cli", "sim", "diagram", "--alpha", args.alphas, "--t-w", args.widths,
               "--size", str(args.size), "--dt", "5fs", "--batch", "4", "--threads", "1", "--out", str(out)]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cpu = (cpu_seconds(view.pid) + cpu_seconds(driver.service.process.pid) - cpu0) / (time.perf_counter() - t0) \
            if with_view else 0.0
    finally:
        if driver is not None:
            driver.quit()
        if view is not None:
            view.terminate()
            view.wait(10)
    import datetime as dt

    with Store(out, "r") as store:
        (run_id,) = store.run_ids()
        run = store.run(run_id)
        a = run.attrs
        seconds = (dt.datetime.fromisoformat(a["ended"]) - dt.datetime.fromisoformat(a["started"])).total_seconds()
        return len(run.completed()) / seconds, cpu


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "benchmarks/results/view_latency.json"))
    ap.add_argument("--loads", type=int, default=5)
    ap.add_argument("--records", type=int, default=20)
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--alphas", default="0.1:0.6:6")
    ap.add_argument("--widths", default="2ps:40ps:8")
    ap.add_argument("--size", type=int, default=24)
    args = ap.parse_args(argv)
    rec = provenance(argv, script=__file__)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        results = page_load_and_latency(tmp, args.loads, args.records)
        print(f"page load median {results['page_load_median_s']:.2f} s; update latency median "
              f"{results['update_latency_median_s']:.2f} s, p90 {results['update_latency_p90_s']:.2f} s", flush=True)
        alone, viewed, cpu = [], [], []
        for k in range(args.pairs):
            alone.append(sweep_rate(tmp, k, False, args)[0])
            rate, share = sweep_rate(tmp, k, True, args)
            viewed.append(rate)
            cpu.append(share)
            print(f"pair {k}: {alone[-1]:.3f} pt/s alone, {viewed[-1]:.3f} pt/s with the view "
                  f"(view + browser: {share * 100:.1f} % of a core)", flush=True)
    slow = 1 - statistics.median(viewed) / statistics.median(alone)
    results.update(writer={"sweep": f"hil sim diagram --alpha {args.alphas} --t-w {args.widths} --size {args.size} "
                                    "--dt 5fs --batch 4 --threads 1",
                           "points_per_s_alone": alone, "points_per_s_with_view": viewed,
                           "median_alone": statistics.median(alone), "median_with_view": statistics.median(viewed),
                           "slowdown": slow, "target": "<= 0.05",
                           "view_and_browser_cpu_cores": cpu})
    print(f"writer: median {statistics.median(alone):.2f} pt/s alone, {statistics.median(viewed):.2f} pt/s with the "
          f"view open: {slow * 100:+.1f} % slower")
    write_result(args.out, {**rec, "results": results})
    print(f"→ {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
