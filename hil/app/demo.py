"""``hil demo``: the main job on the simulated bench, end to end.

Runs the ``bench_tour`` procedure (every role of the bench) into an HDF5
file, reads it back and prints what is in it; draws a PNG summary. Then the
live stage (:mod:`hil.app.demo_live`): a classifier trained on twin processes
labels fresh processes frame by frame over ZMQ, beside their physics labels.
"""

from __future__ import annotations

import time
from pathlib import Path


def run_demo(out: Path, bench_path: str | None = None, plot: bool = True, live: bool = True) -> None:
    from hil.bench import load_bench
    from hil.procedure import run_procedure
    from hil.protocols import get_procedure
    from hil.store import Store

    from hil.bench import shipped_bench

    spec = load_bench(bench_path or shipped_bench("demo.toml"))
    procedure = get_procedure("bench_tour")
    print(f"bench {spec.name!r} from {spec.path}: {', '.join(spec.roles)}")
    t0 = time.perf_counter()
    with Store(out) as store, spec.open() as bench:
        run = run_procedure(procedure, bench, store, {})
        run_id = run.run_id
    elapsed = time.perf_counter() - t0
    print(f"run {run_id} finished in {elapsed:.1f} s → {out}")
    with Store(out, "r") as store:
        run = store.run(run_id)
        print(f"  status {run.status}; {len(run.completed())} records; protocol {run.attrs['protocol']}")
        print(f"  {'I (mA)':>7} {'V (V)':>7} {'line (GHz)':>10} {'P (dBm)':>8} {'t_w (ps)':>8} {'<Sz> first→last':>18}")
        records = list(run.records())
        for r in records:
            sz = r["mean_sz"]
            print(f"  {r['current'] * 1e3:7.2f} {r['voltage']:7.3f} {r['peak_frequency'] / 1e9:10.3f} "
                  f"{r['peak_power_dbm']:8.1f} {r['width'] * 1e12:8.1f} {sz[0]:+8.3f} → {sz[-1]:+.3f}")
        print(f"  datasets per record: {', '.join(f'{k}{tuple(v.shape)}' for k, v in records[0].data.items())}")
    if plot:
        png = out.with_suffix(".png")
        draw_summary(records, png)
        print(f"  summary plot → {png}")
    print(f"read it back: hil runs {out}   or   h5py.File('{out}')['runs/{run_id}/records']")
    print(f"watch it live: hil view {out}  → http://127.0.0.1:8050/ (start it beside `hil demo` to see the run fill in)")
    if live:
        from hil.app.demo_live import live_stage, print_live

        print("live labelling: train a classifier on twin processes, stream fresh ones through the labeller")
        size = int(spec.samples["skyrmion"].options["size"])
        theta = float(spec.roles["pulse_generator"].options["theta_deg"])
        t0 = time.perf_counter()
        with spec.open() as bench:
            rows = live_stage(bench, out.parent, size, theta)
        print_live(rows)
        print(f"  live stage took {time.perf_counter() - t0:.1f} s")


def draw_summary(records, png: Path) -> None:
    """Spectra of each bias point, and the first and last S_z frame of each pulse."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(records)
    fig, axes = plt.subplots(2, n + 1, figsize=(3.2 * (n + 1), 6), squeeze=False)
    ax = axes[0, 0]
    for r in records:
        ax.plot(r["frequency"] / 1e9, r["power_dbm"], lw=0.8, label=f"{r['current'] * 1e3:.1f} mA")
    ax.set(xlabel="frequency (GHz)", ylabel="power (dBm)", title="oscillator line")
    ax.legend(fontsize=7)
    ax = axes[1, 0]
    for r in records:
        ax.plot(r["zero_span_time"] * 1e9, r["zero_span_dbm"], lw=0.8)
    ax.set(xlabel="time (ns)", ylabel="power (dBm)", title="zero span at the peak")
    for j, r in enumerate(records, start=1):
        frames = r["frames"]
        for row, k in enumerate((0, len(frames) - 1)):
            a = axes[row, j]
            a.imshow(frames[k], cmap="RdBu_r", vmin=-1, vmax=1, origin="lower")
            a.set_title(f"t_w {r['width'] * 1e12:.0f} ps, t = {r['times'][k] * 1e12:.0f} ps", fontsize=8)
            a.set_xticks([]), a.set_yticks([])
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=90)
    plt.close(fig)


__all__ = ["run_demo", "draw_summary"]
