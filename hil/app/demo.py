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
        labels = physics_labels(spec, records)
        if labels:
            print(f"  physics label of each pulse's process (run to its end): {', '.join(labels)}")
        draw_summary(records, png, labels, title=f"hil demo: bench_tour on bench {spec.name!r} "
                     f"(skyrmion L = {spec.samples['skyrmion'].options.get('size', '?')}), run {run_id}"
                     if "skyrmion" in spec.samples else "")
        print(f"  summary plot → {png}")
    print(f"read it back: hil runs {out}   or, in Python, hil.store.Store('{out}', 'r').run('{run_id}').records()")
    print(f"watch it live: hil view {out}  → http://127.0.0.1:8050/ (start it beside `hil demo` to see the run fill in)")
    if live:
        from hil.app.demo_live import live_stage, print_live

        print("live labelling: fire fresh pulses, stream their frames through the ZMQ labeller with the classifier below")
        size = int(spec.samples["skyrmion"].options["size"])
        theta = float(spec.roles["pulse_generator"].options["theta_deg"])
        t0 = time.perf_counter()
        with spec.open() as bench:
            rows = live_stage(bench, out.parent, size, theta)
        print_live(rows)
        print(f"  live stage took {time.perf_counter() - t0:.1f} s")


def physics_labels(spec, records) -> list[str] | None:
    """The LLG rule's label of each pulse's process, run to its end on the bench's own sample (twins only).

    The recorded frames stop at the last frame time, often before the process is over, so the label comes from the
    same process integrated until it settles (:func:`hil.sim.llg.diagram.simulate_points`, one batch). ``None``
    on a bench whose frame source is not the LLG twin.
    """
    sample = spec.samples.get("skyrmion")
    pulse = spec.roles.get("pulse_generator")
    if sample is None or pulse is None or sample.registered != "llg-sample" or pulse.kind != "twin":
        return None
    from hil.sim.llg.diagram import DiagramSpec, simulate_points
    from hil.sim.llg.units import FS

    o, po = sample.options, pulse.options
    widths = tuple(float(r["width"]) for r in records)
    diagram = DiagramSpec(theta_deg=float(po.get("theta_deg", 40.0)), alphas=(float(o.get("alpha", 0.36)),),
                          widths=widths, temperature=float(o.get("temperature", 0.0)), size=int(o["size"]),
                          mu_s=float(o.get("mu_s", 0.7)), dt=float(o.get("dt_fs", 5.0)) * FS, batch=len(widths))
    return [rec["label"] for _, rec in simulate_points(diagram, list(range(len(widths))))]


def draw_summary(records, png: Path, labels: list[str] | None = None, title: str = "") -> None:
    """One PNG that explains itself: the oscillator's line per bias current, and each pulse's first and last S_z.

    bench_tour pairs point k's bias current with point k's pulse width (two independent samples measured in one
    run); the figure says so. ``labels``: the physics label of each pulse's process, drawn on its panel.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from hil.labels import COLOURS

    n = len(records)
    fig, axes = plt.subplots(2, n + 1, figsize=(3.3 * (n + 1) + 0.8, 6.6), squeeze=False, layout="constrained")
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    ax = axes[0, 0]
    for k, r in enumerate(records):
        ax.plot(r["frequency"] / 1e9, r["power_dbm"], lw=0.8, color=colours[k % len(colours)],
                label=f"point {k}: I = {r['current'] * 1e3:.1f} mA")
    ax.set(xlabel="frequency (GHz)", ylabel="power (dBm)", title="oscillator line per bias current")
    ax.legend(fontsize=7)
    ax = axes[1, 0]
    for k, r in enumerate(records):
        ax.plot(r["zero_span_time"] * 1e9, r["zero_span_dbm"], lw=0.8, color=colours[k % len(colours)])
    ax.set(xlabel="time (ns)", ylabel="power (dBm)", title="zero span at the line's peak")
    im = None
    for j, r in enumerate(records, start=1):
        frames = r["frames"]
        size = frames.shape[-1]
        for row, k in enumerate((0, len(frames) - 1)):
            a = axes[row, j]
            im = a.imshow(frames[k], cmap="RdBu_r", vmin=-1, vmax=1, origin="lower",
                          extent=(0, size, 0, frames.shape[-2]))
            head = f"point {j - 1}: t_w = {r['width'] * 1e12:.0f} ps (with I = {r['current'] * 1e3:.1f} mA)\n"
            a.set_title(f"{head if row == 0 else ''}S_z at t = {r['times'][k] * 1e12:.0f} ps", fontsize=8)
            a.set_xlabel("x (lattice sites)", fontsize=7)
            a.set_ylabel("y (lattice sites)", fontsize=7)
            a.tick_params(labelsize=6)
        if labels is not None:
            label = labels[j - 1]
            axes[1, j].text(0.03, 0.04, f"physics label: {label}", transform=axes[1, j].transAxes, fontsize=8,
                            color="white", bbox={"facecolor": COLOURS.get(label, "#444444"), "alpha": 0.9, "pad": 2})
    if im is not None:
        fig.colorbar(im, ax=axes[:, 1:], shrink=0.8, label="S_z (out-of-plane spin, dimensionless)")
    fig.suptitle(title or "hil demo: bench_tour on the simulated bench", fontsize=11)
    fig.text(0.5, -0.01, "Each point k of the run biases the spin-torque oscillator with current I_k (left) and, "
             "at the same time, fires a field pulse of width t_w,k at the skyrmion sample (columns).\nThe two samples "
             "are independent: a current is paired with a width only by its point of the run (--param currents=..., "
             "widths=...). Physics label: the LLG rule on the process run to its end.",
             ha="center", va="top", fontsize=8)
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=90, bbox_inches="tight")
    plt.close(fig)


__all__ = ["run_demo", "draw_summary", "physics_labels"]
