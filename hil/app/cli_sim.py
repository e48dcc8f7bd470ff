"""``hil sim process`` and ``hil sim diagram``: the LLG skyrmion twin from the shell."""

from __future__ import annotations

import argparse
import json


def cmd_process(args: argparse.Namespace) -> int:
    from hil.sim.llg.diagram import DiagramSpec, parse_quantity, simulate_points

    spec = DiagramSpec(theta_deg=args.theta, alphas=(args.alpha,), widths=(parse_quantity(args.t_w, "s"),),
                       temperature=parse_quantity(args.temperature, "K"), size=args.size, seed=args.seed)
    [(_, rec)] = simulate_points(spec, [0])
    result = {"label": rec["label"], "final_Q": round(rec["final_Q"], 4), "final_Mz": round(rec["final_Mz"], 4),
              "alpha": args.alpha, "t_w_s": rec["t_w"], "theta_deg": args.theta, "temperature_K": spec.temperature,
              "size": args.size, "final_time_s": rec["final_time"], "label_final": rec["label_final"]}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{result['label']}: final Q = {result['final_Q']:+.3f}, M_z = {result['final_Mz']:+.3f} "
              f"(α = {args.alpha}, t_w = {rec['t_w'] * 1e12:g} ps, θ = {args.theta}°, T = {spec.temperature:g} K, L = {args.size})")
    return 0


def cmd_diagram(args: argparse.Namespace) -> int:
    from hil.sim.llg.diagram import DiagramSpec, parse_quantity, parse_range, plot_diagram, sweep
    from hil.sim.llg import FRAMES_5PS, FRAMES_15PS

    FRAME_SETS = {"15ps": FRAMES_15PS, "5ps": FRAMES_5PS}

    spec = DiagramSpec(theta_deg=args.theta, alphas=parse_range(args.alpha, ""), widths=parse_range(args.t_w, "s"),
                       temperature=parse_quantity(args.temperature, "K"), size=args.size, batch=args.batch,
                       seed=args.seed, dt=parse_quantity(args.dt, "s"), frame_times=FRAME_SETS[args.frames],
                       threads=args.threads)
    executor = None
    if args.workers > 1:
        from concurrent.futures import ProcessPoolExecutor

        executor = ProcessPoolExecutor(args.workers)
    try:
        run_id = sweep(spec, args.out, executor=executor, resume=args.resume)
    finally:
        if executor is not None:
            executor.shutdown()
    print(f"run {run_id}: {len(spec.points())} points → {args.out}")
    if args.plot:
        counts = plot_diagram(args.out, run_id, args.plot)
        print(f"diagram → {args.plot}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    sim = sub.add_parser("sim", help="the LLG skyrmion twin").add_subparsers(dest="sim_command", required=True, metavar="ACTION")
    p = sim.add_parser("process", help="run one process and print its physics label, final Q and M_z")
    p.add_argument("--alpha", type=float, required=True, help="damping α")
    p.add_argument("--t-w", required=True, help="pulse width (Gaussian sigma), e.g. 28ps")
    p.add_argument("--theta", type=float, default=40.0, help="field polar angle in degrees (default %(default)s)")
    p.add_argument("--temperature", default="0K", help="e.g. 1.5K (default %(default)s)")
    p.add_argument("--size", type=int, default=100, help="lattice size L (default %(default)s)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_process)

    p = sim.add_parser("diagram", help="sweep (α, t_w) into HDF5 and draw the process diagram")
    p.add_argument("--theta", type=float, default=40.0, help="degrees")
    p.add_argument("--alpha", required=True, help="start:stop:count, e.g. 0.02:0.6:40")
    p.add_argument("--t-w", required=True, help="start:stop:count, e.g. 2ps:40ps:44")
    p.add_argument("--temperature", default="0K")
    p.add_argument("--size", type=int, default=100)
    p.add_argument("--batch", type=int, default=8, help="points per torch batch")
    p.add_argument("--dt", default="2fs", help="Heun time step (default %(default)s; 1–5 fs, see benchmarks/RESULTS.md)")
    p.add_argument("--frames", choices=["15ps", "5ps"], default="15ps",
                   help="frame set: every 15 ps over 105 ps (default) or every 5 ps over 90 ps")
    p.add_argument("--threads", type=int, default=0, help="torch threads per worker (0: torch's default)")
    p.add_argument("--workers", type=int, default=1, help="processes (a ProcessPoolExecutor)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="HDF5 file")
    p.add_argument("--resume", metavar="RUN_ID", help="finish an interrupted sweep")
    p.add_argument("--plot", help="PNG of the diagram")
    p.set_defaults(func=cmd_diagram)
