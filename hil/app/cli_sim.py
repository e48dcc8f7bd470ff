"""``hil sim process`` and ``hil sim diagram``: the LLG skyrmion twin from the shell."""

from __future__ import annotations

import argparse
import json

from hil.quantities import quantity_arg, values_arg


def _given(**options: object) -> dict[str, object]:
    """The options the user set; the others keep the twin's defaults (hil.sim.llg.defaults)."""
    return {k: v for k, v in options.items() if v is not None}


def cmd_process(args: argparse.Namespace) -> int:
    from hil.sim.llg.diagram import DiagramSpec, simulate_points

    spec = DiagramSpec(theta_deg=args.theta, alphas=(args.alpha,), widths=(args.t_w,), temperature=args.temperature,
                       seed=args.seed, **_given(size=args.size))
    [(_, rec)] = simulate_points(spec, [0])
    result = {"label": rec["label"], "final_Q": round(rec["final_Q"], 4), "final_Mz": round(rec["final_Mz"], 4),
              "alpha": args.alpha, "t_w_s": rec["t_w"], "theta_deg": args.theta, "temperature_K": spec.temperature,
              "size": spec.size, "final_time_s": rec["final_time"], "label_final": rec["label_final"]}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{result['label']}: final Q = {result['final_Q']:+.3f}, M_z = {result['final_Mz']:+.3f} "
              f"(α = {args.alpha}, t_w = {rec['t_w'] * 1e12:g} ps, θ = {args.theta}°, T = {spec.temperature:g} K, L = {spec.size})")
    return 0


def _probe(address: str) -> None:
    """Refuse at once (not after dask's connect timeout) when nothing listens at tcp://HOST:PORT."""
    import socket
    from urllib.parse import urlsplit

    from hil.errors import HilError

    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme != "tcp":
        return  # another dask transport (inproc://, tls://, ucx://): dask's own connect decides
    if not parts.hostname or not parts.port:
        raise HilError(f"--scheduler {address!r}: give the scheduler's address as tcp://HOST:PORT")
    try:
        socket.create_connection((parts.hostname, parts.port), timeout=5).close()
    except OSError as exc:
        raise HilError(f"--scheduler {address}: no dask scheduler answers there ({exc.strerror or exc})") from None


def executor_for(scheduler: str | None, workers: int):
    """(executor, worker count, closer): a dask cluster's executor for ``--scheduler``, else a process pool.

    ``None`` executor with ``workers`` = 1: points run in this process.
    """
    from hil.errors import HilError

    if scheduler:
        if workers != 1:
            raise HilError("--scheduler and --workers exclude each other: the cluster's workers do the work")
        try:
            import distributed
        except ImportError:
            raise HilError("--scheduler needs dask's distributed package: pip install 'spin-hil[dask]'") from None
        _probe(scheduler)
        try:
            client = distributed.Client(scheduler, timeout=10)
        except (OSError, TimeoutError) as exc:
            raise HilError(f"--scheduler {scheduler}: no dask scheduler answers there ({exc})") from None
        n = max(1, len(client.scheduler_info().get("workers", {})))
        return client.get_executor(), n, client.close
    if workers < 1:
        raise HilError(f"--workers must be >= 1, got {workers}")
    if workers == 1:
        return None, 1, lambda: None
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(workers)
    return pool, workers, lambda: pool.shutdown(cancel_futures=True)


#: ``hil sim diagram`` options → DiagramSpec fields; the defaults apply to new sweeps, a resume keeps the stored ones.
DIAGRAM_OPTIONS = {"theta": ("theta_deg", 40.0), "alpha": ("alphas", None), "t_w": ("widths", None),
                   "temperature": ("temperature", 0.0), "size": ("size", None), "batch": ("batch", 8),
                   "dt": ("dt", None), "frames": ("frame_times", "15ps"), "threads": ("threads", 0), "seed": ("seed", 0)}


def diagram_spec(args: argparse.Namespace):
    """The sweep's spec: the stored run's for ``--resume`` (options given now override it, and the run engine
    refuses the resume naming what differs), else the options with their defaults."""
    from hil.errors import HilError
    from hil.sim.llg.defaults import FRAME_SETS
    from hil.sim.llg.diagram import DiagramSpec

    given = {field: getattr(args, opt) for opt, (field, _) in DIAGRAM_OPTIONS.items() if getattr(args, opt) is not None}
    if "frame_times" in given:
        given["frame_times"] = FRAME_SETS[given["frame_times"]]
    for key in ("alphas", "widths", "frame_times"):
        if key in given:
            given[key] = tuple(given[key])
    if args.resume:
        from hil.app.cli import stored_run

        stored = stored_run(args.out, args.resume)["params"]
        base = {k: tuple(v) if isinstance(v, list) else v for k, v in stored.items()
                if k in DiagramSpec.__dataclass_fields__}
        return DiagramSpec(**{**base, **given})
    missing = [f"--{opt.replace('_', '-')}" for opt in ("alpha", "t_w") if getattr(args, opt) is None]
    if missing:
        raise HilError(f"hil sim diagram: give {' and '.join(missing)} (or --resume RUN_ID --out FILE)")
    defaults = {field: (FRAME_SETS[d] if field == "frame_times" else d)
                for opt, (field, d) in DIAGRAM_OPTIONS.items() if d is not None}
    return DiagramSpec(**{**defaults, **given})


def cmd_diagram(args: argparse.Namespace) -> int:
    from hil.sim.llg.diagram import plot_diagram, sweep
    from hil.runs import preflight

    spec = diagram_spec(args)
    workers = args.workers
    # refuse what cannot run before connecting to a cluster or starting processes
    preflight(spec.n_points, args.out, batch=spec.batch, estimate=spec.estimate(workers), yes=args.yes)
    executor, workers, close = executor_for(args.scheduler, workers)
    try:
        run_id = sweep(spec, args.out, executor=executor, resume=args.resume, yes=args.yes, workers=workers,
                       progress=not args.quiet)
    finally:
        close()
    print(f"run {run_id}: {spec.n_points} points → {args.out}")
    if args.plot:
        counts = plot_diagram(args.out, run_id, args.plot)
        print(f"diagram → {args.plot}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    sim = sub.add_parser("sim", help="the LLG skyrmion twin").add_subparsers(dest="sim_command", required=True, metavar="ACTION")
    p = sim.add_parser("process", help="run one process and print its physics label, final Q and M_z")
    p.add_argument("--alpha", type=quantity_arg(""), required=True, help="damping α (a plain number)")
    p.add_argument("--t-w", type=quantity_arg("s"), required=True, help="pulse width (Gaussian sigma) with its unit, e.g. 28ps")
    p.add_argument("--theta", type=quantity_arg("deg"), default="40deg",
                   help="field polar angle, e.g. 40deg (a bare number is degrees; default %(default)s)")
    p.add_argument("--temperature", type=quantity_arg("K"), default="0K", help="e.g. 1.5K (default %(default)s)")
    p.add_argument("--size", type=int, default=None, help="lattice size L (default: the reference sample's)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_process)

    p = sim.add_parser("diagram", help="sweep (α, t_w) into HDF5 and draw the process diagram")
    p.add_argument("--theta", type=quantity_arg("deg"), default=None,
                   help="field polar angle, e.g. 40deg (a bare number is degrees; default 40deg)")
    p.add_argument("--alpha", type=values_arg(""), default=None,
                   help="damping values: start:stop:count (inclusive) or a comma list, e.g. 0.02:0.6:40")
    p.add_argument("--t-w", type=values_arg("s"), default=None,
                   help="pulse widths with units: start:stop:count or a comma list, e.g. 2ps:40ps:14 or 8ps,28ps")
    p.add_argument("--temperature", type=quantity_arg("K"), default=None, help="e.g. 1.5K (default 0K)")
    p.add_argument("--size", type=int, default=None, help="lattice size L (default: the reference sample's)")
    p.add_argument("--batch", type=int, default=None, help="points per torch batch (default 8)")
    p.add_argument("--dt", type=quantity_arg("s"), default=None,
                   help="Heun time step, e.g. 5fs (default: the twin's; 1–5 fs, see benchmarks/RESULTS.md)")
    p.add_argument("--frames", choices=["15ps", "5ps"], default=None,
                   help="frame set: every 15 ps over 105 ps (default) or every 5 ps over 90 ps")
    p.add_argument("--threads", type=int, default=None, help="torch threads per worker (default 0: torch's own)")
    p.add_argument("--workers", type=int, default=1, help="processes (a ProcessPoolExecutor)")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                   help="run the points on an existing dask cluster (its scheduler's address) instead")
    p.add_argument("--yes", action="store_true", help="start even if the sweep is estimated to take over an hour")
    p.add_argument("--seed", type=int, default=None, help="default 0")
    p.add_argument("--out", required=True, help="HDF5 store, e.g. out/diagram.h5")
    p.add_argument("--resume", metavar="RUN_ID",
                   help="finish a stored sweep of --out with its stored grid and options (others given are refused "
                        "where they differ)")
    p.add_argument("--plot", help="PNG of the diagram, e.g. out/diagram.png")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_diagram)
