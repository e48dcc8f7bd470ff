"""``hil view FILE.h5``: a live page of a store's runs, the process diagram and the live labels (Bokeh server).

The page is served by the project on 127.0.0.1 by default, so it needs no
desktop and is reached from a lab PC over an SSH tunnel
(``ssh -N -L 8050:127.0.0.1:8050 LABHOST``, then http://localhost:8050/).
``--host`` binds elsewhere, with a warning: the page has no authentication.

It only reads: the store through read-only SWMR opens that last one tick
(:mod:`hil.app.view_data`), the labellers' output through a ZMQ subscription
(:mod:`hil.app.view_stream`); the page is laid out in :mod:`hil.app.view_layout`.
A writer is never blocked or slowed beyond the reading itself (measured in
benchmarks/RESULTS.md, "Live view").
"""

from __future__ import annotations

import argparse
import logging
import socket
import sys
from functools import partial
from pathlib import Path
from typing import Callable

from hil.quantities import quantity_arg

DEFAULT_PORT = 8050
DEFAULT_STREAM = "tcp://127.0.0.1:5556"  # `hil stream label`'s default --out
LOOPBACK = ("127.0.0.1", "localhost", "::1")

log = logging.getLogger("hil.view")


def origins_for(host: str, port: int, extra: list[str]) -> list[str]:
    """Websocket origins the server accepts: loopback on ``port`` (an SSH tunnel on the same port), plus ``host``.

    A tunnel on another local port (``-L 9000:127.0.0.1:8050``) needs ``--allow-origin localhost:9000``.
    """
    out = [f"localhost:{port}", f"127.0.0.1:{port}"]
    if host not in LOOPBACK:
        names = {host} if host not in ("0.0.0.0", "") else {socket.gethostname(), socket.getfqdn()}
        out += [f"{name}:{port}" for name in sorted(names)]
    return out + list(extra)


def free_port(host: str) -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def serve(path: str | Path, endpoints: list[str], host: str = "127.0.0.1", port: int = DEFAULT_PORT,
          tick_s: float = 0.3, allow_origin: list[str] | None = None,
          ready: Callable[[str], None] | None = None) -> None:
    """Serve the page until interrupted. ``ready(url)`` is called once the server listens."""
    from bokeh.application import Application
    from bokeh.application.handlers.function import FunctionHandler
    from bokeh.server.server import Server

    from hil.app.view_data import StorePoller
    from hil.app.view_layout import make_document
    from hil.app.view_stream import StreamFollower

    if host not in LOOPBACK:
        log.warning("binding %s: anyone who can reach this machine on port %d sees the page (it has no "
                    "authentication); prefer the default 127.0.0.1 and an SSH tunnel "
                    "(ssh -N -L %d:127.0.0.1:%d THIS-HOST)", host, port, port, port)
    if port == 0:
        port = free_port(host)
    poller = StorePoller(path, tick_s=tick_s)
    poller.tick(force=True)  # an unreadable file is logged now, and shown on every page until it reads
    stream = StreamFollower(endpoints).start() if endpoints else None
    app = Application(FunctionHandler(partial(make_document, poller=poller, stream=stream, tick_s=tick_s)))
    for name in ("bokeh", "tornado.access"):
        logging.getLogger(name).setLevel(logging.WARNING)
    server = Server({"/": app}, address=host, port=port, num_procs=1,
                    allow_websocket_origin=origins_for(host, port, allow_origin or []))
    server.start()
    shown_host = f"[{host}]" if ":" in host else host
    url = f"http://{shown_host}:{server.port}/"
    log.info("serving %s on %s%s; Ctrl-C to stop", path,
             url, f" (live labels from {', '.join(endpoints)})" if endpoints else "")
    if ready is not None:
        server.io_loop.add_callback(ready, url)
    try:
        server.io_loop.start()
    except KeyboardInterrupt:
        pass
    finally:
        if stream is not None:
            stream.stop()
        server.stop()


def cmd_view(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="hil view: %(levelname)s: %(message)s", stream=sys.stderr)
    endpoints = [] if args.no_stream else (args.stream or [DEFAULT_STREAM])
    serve(args.file, endpoints, host=args.host, port=args.port, tick_s=args.tick, allow_origin=args.allow_origin)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("view", help="serve a live web page of a store's runs and the live labels",
                       description="Serve one page (Bokeh server) that follows FILE.h5 while it is written "
                                   "(runs, progress, records as they arrive, the process diagram) and the "
                                   "labellers' output stream (labels, probabilities, counts, stream health). "
                                   "Reads only: the writer is never blocked.")
    p.add_argument("file", metavar="FILE.h5", help="the store to follow (it may not exist yet)")
    p.add_argument("--stream", action="append", metavar="ENDPOINT",
                   help=f"a labeller's output to follow (repeatable; default {DEFAULT_STREAM})")
    p.add_argument("--no-stream", action="store_true", help="no live labels section")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help="TCP port (default %(default)s; 0: any free)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default %(default)s; anything else is reachable by others: warned)")
    p.add_argument("--allow-origin", action="append", default=[], metavar="HOST:PORT",
                   help="another browser origin allowed to connect, e.g. localhost:9000 for a tunnel on another "
                        "local port (localhost and 127.0.0.1 on --port always are)")
    p.add_argument("--tick", type=quantity_arg("s"), default="300ms",
                   help="how often the page reads the file and the stream (default %(default)s)")
    p.set_defaults(func=cmd_view)
