"""The ``hil`` command line.

Heavy packages (torch, h5py, onnxruntime) are imported inside the commands
that need them, so ``hil --help`` stays fast. Errors print one clear line and
exit non-zero; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
from pathlib import Path

from hil.quantities import quantity_arg

DEFAULT_DEMO_OUT = Path("out/demo.h5")


def report_shutdown(bench) -> None:
    """Print what the bench's shutdown found, per instrument (stderr; a closed terminal is ignored)."""
    lines = getattr(bench, "shutdown_report", ())
    try:
        if lines:
            print("hil: outputs after shutdown:\n  " + "\n  ".join(lines), file=sys.stderr, flush=True)
    except (OSError, ValueError):  # SIGHUP: the terminal may be gone
        pass


# -- commands -------------------------------------------------------------------

def cmd_bench_check(args: argparse.Namespace) -> int:
    if args.list:
        return _list_registered()
    if args.file is None:
        raise SystemExit("hil bench check: give a bench file, or --list for the registered names")
    from hil.bench import load_bench

    spec = load_bench(args.file)
    print(f"bench {spec.name!r} ({spec.path}) is valid")
    lim = spec.limits
    print(f"  limits: bias current ≤ {lim.max_bias_current:g} A, compliance ≤ "
          f"{lim.max_compliance_voltage:g} V, pulse amplitude ≤ {lim.max_pulse_amplitude:g} V")
    for name, s in spec.samples.items():
        print(f"  sample {name}: {s.registered} {s.options or ''}".rstrip())
    for role, r in spec.roles.items():
        where = r.resource if r.kind == "driver" else f"sample {r.sample}" if r.sample else "no sample"
        print(f"  {role:<18} {r.kind:<6} {r.name}  [{where}]")
    return 0


def _list_registered() -> int:
    """Every registered driver, twin and sample with the role(s) it plays and its module."""
    from hil import registry, roles
    from hil.guards import role_members

    for kind in registry.GROUPS:
        print(f"{kind}s:")
        for entry in registry.entries(kind):
            if kind == "sample":
                plays = "sample"
            else:
                try:
                    cls = registry.load(kind, entry.name)
                    plays = ", ".join(r for r, proto in roles.ROLES.items()
                                      if all(hasattr(cls, m) for m in role_members(proto))) or "no role"
                except registry.RegistryError as exc:
                    plays = f"broken ({exc})"
            print(f"  {entry.name:<24} {plays:<22} {entry.target}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from hil.bench import load_bench
    from hil.procedure import check_plan, parse_assignments, run_procedure
    from hil.protocols import get_procedure
    from hil.runs import preflight

    if args.resume:
        procedure, params, spec = _resumed(args)
    else:
        if not args.procedure or not args.bench:
            from hil.errors import HilError

            raise HilError("hil run: give a procedure and --bench (e.g. `hil run bias_sweep --bench benches/sim.toml "
                           "--out out/sweep.h5`), or --resume RUN_ID --out FILE to finish a stored run")
        procedure = get_procedure(args.procedure)
        params = procedure.resolve(parse_assignments(args.param or []))
        spec = load_bench(args.bench)
    points = check_plan(procedure, params, spec.limits)  # every point within the limits, nothing connected yet
    preflight(len(points), args.out, estimate=procedure.estimate(params), yes=args.yes)
    from hil.store import Store

    with Store(args.out) as store:
        bench = spec.open()
        bench.shutdown_timeout = args.shutdown_timeout
        try:
            with bench:
                run = run_procedure(procedure, bench, store, params, resume=args.resume, progress=not args.quiet,
                                    yes=args.yes)
        finally:
            report_shutdown(bench)
        print(f"run {run.run_id}: {run.status}, {len(run.completed())} records → {args.out}")
    return 0


def stored_run(out: str, run_id: str) -> dict:
    """The attributes (protocol, params, bench text, ...) of run ``run_id`` in the store ``out``; refuse a missing one."""
    from hil.errors import HilError
    from hil.store import Store

    if not Path(out).exists():
        raise HilError(f"--resume {run_id}: {out} does not exist; --out names the store that holds the run")
    with Store(out, "r") as store:
        ids = store.run_ids()
        if run_id not in ids:
            raise HilError(f"--resume {run_id}: no such run in {out}; its runs: {', '.join(ids) or 'none'} "
                           f"(`hil runs {out}`)")
        return store.run(run_id).attrs


def _resumed(args: argparse.Namespace):
    """(procedure, params, bench spec) of the stored run ``--resume``; a differing procedure, --param or --bench is refused."""
    from hil.bench import bench_from_text, load_bench
    from hil.errors import HilError
    from hil.procedure import parse_assignments
    from hil.protocols import get_procedure
    from hil.runs import differences

    attrs = stored_run(args.out, args.resume)
    protocol, stored_params, stored_bench = str(attrs["protocol"]), attrs["params"], str(attrs.get("bench", ""))
    procedure = get_procedure(protocol)
    given = parse_assignments(args.param or [])
    params = procedure.resolve({**stored_params, **given})
    spec = load_bench(args.bench) if args.bench else bench_from_text(stored_bench, f"{args.out} run {args.resume}")
    diff = differences(protocol, stored_params, stored_bench, args.procedure or protocol, params, spec.text)
    if diff:
        raise HilError(f"cannot resume run {args.resume}: " + "; ".join(diff) + ". `--resume RUN_ID --out FILE` "
                       "alone reuses the stored procedure, params and bench; to change them start a new run")
    return procedure, params, spec


def status_words(info) -> str:
    """What happened to a run, in words: complete, running (pid N on HOST), interrupted (SIGINT), failed: why."""
    import re

    if info.status == "interrupted":
        m = re.fullmatch(r"interrupted by (SIG\w+)", info.message or "")
        why = m.group(1) if m else (info.message or info.detail or "its writer stopped without finishing")
        return f"interrupted ({why})"
    return info.status_text


def cmd_runs(args: argparse.Namespace) -> int:
    from hil.store import Store

    with Store(args.file, "r") as store:
        infos = store.runs()
        if not infos:
            print(f"{args.file}: no runs")
        for i in infos:
            print(f"{i.run_id:<40} {i.protocol:<16} {i.records:>5} records  {i.started}  {status_words(i)}")
    return 0


def cmd_procedures(args: argparse.Namespace) -> int:
    import hil.protocols as protocols
    from hil.quantities import format_quantity
    from hil.protocols import get_procedure

    for name in sorted(protocols.PROCEDURES):
        proc = get_procedure(name)
        doc = (sys.modules[type(proc).__module__].__doc__ or "").strip().splitlines()[0]
        print(f"{name}: {doc}")
        for key, p in proc.params.items():
            unit = f" [{p.unit}]" if p.unit else ""
            default = format_quantity(p.default, p.unit) if p.type is float and p.unit else p.default
            print(f"    {key}={default}{unit}  {p.doc}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from hil.app.demo import run_demo

    run_demo(Path(args.out), bench_path=args.bench, plot=not args.no_plot, live=not args.no_live)
    return 0


# -- parser ---------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hil", description="spin-hil: run measurement protocols on a real bench or on simulated twins.",
        epilog="Bench files name drivers, twins and samples by registered name: `hil bench check --list`. "
               "Quantities carry units (28ps, 2mA, 4.5GHz); ranges are start:stop:count. "
               "Python packages: hil (base), hil.drivers, hil.sim, hil.models, hil.protocols, hil.app (this CLI).")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on error")
    parser.add_argument("--verbose", dest="show_warnings", action="store_true",
                        help="show the third-party warnings hidden by default (hil/app/quiet.py lists them)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("demo", help="run the main job on the simulated bench and show the result")
    p.add_argument("--out", default=str(DEFAULT_DEMO_OUT), help="HDF5 file to write (default: %(default)s)")
    p.add_argument("--bench", default=None, help="bench file (default: benches/demo.toml, the sim bench at L = 100)")
    p.add_argument("--no-plot", action="store_true", help="skip the PNG summary")
    p.add_argument("--no-live", action="store_true", help="skip the live-labelling stage")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("run", help="run a procedure on a bench and record it to HDF5")
    p.add_argument("procedure", nargs="?", help="procedure name (see `hil procedures`); with --resume, the stored one")
    p.add_argument("--bench", help="bench TOML file (with --resume: the stored bench text unless given)")
    p.add_argument("--param", action="append", metavar="NAME=VALUE", help="procedure parameter (repeatable)")
    p.add_argument("--out", required=True, help="HDF5 file (created or appended)")
    p.add_argument("--resume", metavar="RUN_ID",
                   help="finish a stored run of --out: its procedure, params and bench are reused; a differing "
                        "--param or --bench is refused, naming what differs")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--yes", action="store_true", help="start even if the run is estimated to take over an hour")
    p.add_argument("--shutdown-timeout", type=quantity_arg("s"), default="10s",
                   help="longest wait for one instrument to switch off before the next (default %(default)s)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("runs", help="list the runs in an HDF5 file, with status")
    p.add_argument("file")
    p.set_defaults(func=cmd_runs)

    p = sub.add_parser("procedures", help="list procedures and their parameters")
    p.set_defaults(func=cmd_procedures)

    bench = sub.add_parser("bench", help="bench files").add_subparsers(dest="bench_command", required=True, metavar="ACTION")
    p = bench.add_parser("check", help="validate a bench file and print what plays each role")
    p.add_argument("file", nargs="?", help="bench file (TOML)")
    p.add_argument("--list", action="store_true", help="list every registered driver, twin and sample name, with role and module")
    p.set_defaults(func=cmd_bench_check)

    modules = [importlib.import_module(name) for name in EXTENSION_MODULES]
    for mod in modules:
        if hasattr(mod, "register"):
            mod.register(sub)
    # ``hil train MODEL``: the ``train`` parser belongs to hil.app.cli_train; other
    # modules add their models to it through ``register_train(models)``.
    from hil.app import cli_train

    for mod in modules:
        if hasattr(mod, "register_train"):
            mod.register_train(cli_train.TRAIN_MODELS[-1])
    return parser


#: Modules that add subcommands, keeping this file small. Each may define
#: ``register(subparsers)`` (top-level commands) and ``register_train(models)``
#: (``hil train MODEL``). Imported only when the parser is built; heavy packages
#: stay inside the commands.
EXTENSION_MODULES: tuple[str, ...] = (
    "hil.app.cli_twins",
    "hil.app.cli_sim",
    "hil.app.cli_train",
    "hil.app.cli_classify",
    "hil.app.cli_stream",
    "hil.app.cli_stray",
    "hil.app.cli_node",
    "hil.app.cli_store",
    "hil.app.view",
)


def main(argv: list[str] | None = None) -> int:
    from hil import signals

    from hil.app import quiet

    parser = build_parser()
    args = parser.parse_args(argv)
    quiet.install(verbose=args.show_warnings)
    # SIGINT, SIGTERM, SIGHUP → Interrupted; a repeat cannot stop the shutdown. The console
    # script (argv None) keeps ignoring repeats until it exits; a caller of main([...]) gets its
    # own handlers back.
    with signals.installed(restore=argv is not None):
        try:
            return args.func(args)
        except KeyboardInterrupt as exc:
            name = signals.signal_name(exc)
            try:
                print(f"hil: interrupted by {name}; the run records it (see above for each output)",
                      file=sys.stderr, flush=True)
            except (OSError, ValueError):
                pass
            return 128 + int(getattr(signal, name, signal.SIGINT))
        except BrokenPipeError:  # `hil procedures | head`: the reader left; nothing more to say
            try:
                sys.stdout = open(os.devnull, "w")
            except OSError:
                pass
            return 0
        except Exception as exc:
            if args.debug:
                raise
            from hil.errors import HilError

            text = str(exc) if isinstance(exc, HilError) else f"{type(exc).__name__}: {exc}"
            print(f"hil: error: {text}", file=sys.stderr)
            return 1


if __name__ == "__main__":
    sys.exit(main())
