"""``hil twins serve``: the bench's twin instruments as SCPI servers on loopback."""

from __future__ import annotations

import argparse

#: SCPI dialect served for a twin role when the bench file names none.
DEFAULT_DIALECTS = {
    "pulse_generator": "keysight81160a",
    "spectrum_analyser": "keysight_xseries",
    "bias_source": "keithley6221",
    "digitizer": "keysight_infiniivision",
    "weights": "qdevil_qdac2",
}


def cmd_serve(args: argparse.Namespace) -> int:
    import signal
    import threading

    from hil.bench import load_bench
    from hil.sim.scpi.server import serve_twins

    spec = load_bench(args.bench)
    with spec.open() as bench:
        twins = {}
        for role, r in spec.roles.items():
            dialect = r.scpi or DEFAULT_DIALECTS.get(role)
            if r.kind == "twin" and dialect:
                twins[role] = (dialect, bench.roles[role].instrument)
        ports = {role: args.base_port + i for i, role in enumerate(twins)} if args.base_port else None
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        with serve_twins(twins, ports=ports, idle_timeout=args.idle_timeout or None,
                         max_connections=args.max_connections) as group:
            for role, port in group.ports.items():
                print(f"{role:<18} {twins[role][0]:<18} TCPIP0::127.0.0.1::{port}::SOCKET", flush=True)
            print("serving; SIGTERM or Ctrl-C stops", flush=True)
            stop.wait()
    print("stopped", flush=True)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    twins = sub.add_parser("twins", help="twin instruments").add_subparsers(dest="twins_command", required=True, metavar="ACTION")
    p = twins.add_parser("serve", help="serve the bench's twins as SCPI instruments on 127.0.0.1")
    p.add_argument("--bench", default=None, help="bench file (default: benches/sim.toml)")
    p.add_argument("--base-port", type=int, default=0, help="first port (default: the OS picks free ports)")
    p.add_argument("--idle-timeout", type=float, default=300.0, help="s; close silent clients (0 = never; default 300)")
    p.add_argument("--max-connections", type=int, default=16, help="clients at once per instrument (default 16)")
    p.set_defaults(func=cmd_serve)


class ServedTwins:
    """``hil twins serve --bench BENCH`` in a subprocess (the OS picks the ports) and the VISA resource of each role.

    For scripts, tests and benchmarks that drive the real drivers against the twins:
    ``served = ServedTwins(bench); served.resources["bias_source"]`` → ``TCPIP0::127.0.0.1::PORT::SOCKET``;
    ``served.stop()`` ends the server (SIGTERM, then its exit status).
    """

    def __init__(self, bench, cwd=None, env=None):
        import re
        import subprocess
        import sys

        self.proc = subprocess.Popen([sys.executable, "-m", "hil.app.cli", "twins", "serve", "--bench", str(bench)],
                                     cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.resources: dict[str, str] = {}
        for line in self.proc.stdout:
            if line.startswith("serving"):
                break
            m = re.match(r"(\w+)\s+\w+\s+(TCPIP0::\S+)", line)
            if m:
                self.resources[m.group(1)] = m.group(2)
        else:
            raise RuntimeError(f"twin server did not start: exit status {self.proc.wait()}")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
        return self.proc.wait(timeout=10)
