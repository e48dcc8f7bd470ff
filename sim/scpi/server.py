"""Serve twins as SCPI instruments on TCP loopback: one port per role, one thread per client.

``serve_twins({"spectrum_analyser": ("keysight_xseries", twin)})`` listens on
127.0.0.1 (a free port unless given) and speaks the X-series dialect, so
``hil.drivers.keysight_xseries.KeysightXSeriesAnalyser("TCPIP0::127.0.0.1::PORT::SOCKET",
visa_library="@py", read_termination="\\n", write_termination="\\n")`` drives the twin
through real PyVISA.

One lock per instrument: the commands of one dialect run one at a time
(all its clients included); different instruments run side by side —
except twins that front one simulated sample (``twin.sample`` is the same
object, e.g. a bias source and an analyser on one oscillator array), which
share that sample's lock, since the physics is not thread-safe.

Cannot be knocked over: a client that sends garbage gets errors in its
error queue; one that disconnects mid-message loses that message; one that
reads slowly gets its whole reply (sending waits for progress, up to
``idle_timeout``); one that stays silent for ``idle_timeout`` seconds is
disconnected; beyond ``max_connections`` per instrument a new connection
is closed at once (a LAN instrument's socket limit). A failure inside a
command is queued as an error, never the end of the connection.
:meth:`TwinServerGroup.run_forever` blocks until :meth:`TwinServerGroup.stop`,
which is safe to call from a signal handler.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
import time
from typing import Any, Mapping

from hil.sim.scpi.dialect import Dialect
from hil.sim.scpi.dialects import get_dialect
from hil.sim.scpi.errors import ScpiError
from hil.sim.scpi.framing import MessageFramer

log = logging.getLogger(__name__)

#: How often blocked threads look at the stop flag, s.
POLL = 0.1
#: Default: a client silent this long (s) is disconnected; a reader that takes nothing this long is dropped.
IDLE_TIMEOUT = 300.0
#: Default: connections served at once per instrument (Keysight LAN instruments allow a handful).
MAX_CONNECTIONS = 16
#: Linux only: acknowledge at once. pyvisa-py leaves Nagle's algorithm on for SOCKET
#: resources, so a client's second small write waits for the ACK of its first; with the
#: server's ACK delayed (40 ms on Linux) every write-write-query sequence stalls 40 ms.
_QUICKACK = getattr(socket, "TCP_QUICKACK", None)


def _bind_address(host: str, allow_remote: bool) -> tuple[socket.AddressFamily, str]:
    """The address to bind for ``host`` (IPv4 first, so ``localhost`` is 127.0.0.1 for every
    client); anything but loopback is refused unless allowed."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise ValueError(f"cannot resolve host {host!r}: {error}") from None
    addresses = sorted({info[4][0] for info in infos})
    if not allow_remote and not all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses):
        raise ValueError(
            f"refusing to serve twins on {host!r} ({', '.join(addresses)}): not a loopback address. "
            "Simulated instruments answer anyone who connects; pass allow_remote=True to expose them anyway."
        )
    family, _, _, _, address = min(infos, key=lambda info: info[0] != socket.AF_INET)
    return family, address[0]


class _Server:
    """One listening socket fronting one dialect."""

    def __init__(self, role: str, dialect: Dialect, host: str, port: int, family: socket.AddressFamily,
                 lock: threading.Lock, stopping: threading.Event, idle_timeout: float | None = IDLE_TIMEOUT,
                 max_connections: int = MAX_CONNECTIONS):
        self.role, self.dialect = role, dialect
        self._lock, self._stopping = lock, stopping
        self.idle_timeout = idle_timeout
        self.max_connections = max_connections
        self.refused = 0  # connections closed at once for being over the limit
        self._socket = socket.create_server((host, port), family=family)
        self._socket.settimeout(POLL)
        self.port: int = self._socket.getsockname()[1]
        self._clients: set[threading.Thread] = set()
        self._acceptor = threading.Thread(target=self._accept, name=f"scpi-{role}-accept", daemon=True)
        self._acceptor.start()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                connection, address = self._socket.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            self._clients = {t for t in self._clients if t.is_alive()}
            if len(self._clients) >= self.max_connections:
                self.refused += 1
                log.warning("%s: connection from %s refused: %d connections already open", self.role, address,
                            self.max_connections)
                connection.close()
                continue
            thread = threading.Thread(target=self._serve, args=(connection,), name=f"scpi-{self.role}-{address[1]}",
                                      daemon=True)
            self._clients.add(thread)
            thread.start()

    def _serve(self, connection: socket.socket) -> None:
        framer = MessageFramer()
        with connection:
            connection.settimeout(POLL)
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            heard = time.monotonic()
            while not self._stopping.is_set():
                try:
                    if _QUICKACK is not None:
                        connection.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)  # cleared by the kernel
                    data = connection.recv(1 << 16)
                except socket.timeout:
                    if self.idle_timeout is not None and time.monotonic() - heard > self.idle_timeout:
                        log.info("%s: closing a connection idle for %g s", self.role, self.idle_timeout)
                        return
                    continue
                except OSError:
                    return
                if not data:
                    return  # the client closed; a half-received message dies with it
                for item in framer.feed(data):
                    reply = self._execute(item)
                    if reply and not self._send(connection, reply):
                        return
                heard = time.monotonic()

    def _send(self, connection: socket.socket, reply: bytes) -> bool:
        """Send all of ``reply`` however slowly the client reads; False when the client is gone,
        the server stops, or nothing could be sent for ``idle_timeout`` seconds."""
        view = memoryview(reply)
        progress = time.monotonic()
        while view:
            if self._stopping.is_set():
                return False
            try:
                sent = connection.send(view)
            except socket.timeout:
                if self.idle_timeout is not None and time.monotonic() - progress > self.idle_timeout:
                    log.info("%s: dropping a client that read nothing for %g s", self.role, self.idle_timeout)
                    return False
                continue
            except OSError:
                return False
            view = view[sent:]
            progress = time.monotonic()
        return True

    def _execute(self, item: bytes | ScpiError) -> bytes | None:
        with self._lock:
            if isinstance(item, ScpiError):
                self.dialect.errors.push(item)
                return None
            try:
                return self.dialect.execute(item)
            except Exception as error:  # last line of defence: the connection and the server stay up
                log.exception("%s: message failed", self.role)
                self.dialect.errors.push(ScpiError(-300, f"{type(error).__name__}: {error}"))
                return None

    def close(self, timeout: float) -> None:
        self._socket.close()
        deadline = time.monotonic() + timeout
        for thread in [self._acceptor, *self._clients]:
            thread.join(max(0.0, deadline - time.monotonic()))


class TwinServerGroup:
    """The running servers of :func:`serve_twins`; a context manager that stops them on exit."""

    def __init__(self, servers: dict[str, _Server], host: str, stopping: threading.Event):
        self._servers = servers
        self.host = host
        self._stopping = stopping
        self._stop_requested = False
        self._in_run_forever = False
        self._closing = threading.Lock()  # taken once, by whoever shuts down first; never released
        self._is_closed = False

    @property
    def ports(self) -> dict[str, int]:
        """Role → bound TCP port."""
        return {role: server.port for role, server in self._servers.items()}

    @property
    def resources(self) -> dict[str, str]:
        """Role → VISA resource name of the socket (``TCPIP0::127.0.0.1::PORT::SOCKET``)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return {role: f"TCPIP0::{host}::{port}::SOCKET" for role, port in self.ports.items()}

    def dialect(self, role: str) -> Dialect:
        """The dialect serving ``role`` (its settings and error queue, for tests and logs)."""
        return self._servers[role].dialect

    def run_forever(self) -> None:
        """Block until :meth:`stop` is called (from a signal handler or another thread), then shut down."""
        self._in_run_forever = True
        try:
            while not self._stop_requested:
                time.sleep(POLL)
        finally:
            self._in_run_forever = False
            self._shutdown()

    def stop(self) -> None:
        """Stop serving. In a signal handler it only raises a flag that :meth:`run_forever` acts on."""
        self._stop_requested = True
        if not self._in_run_forever:
            self._shutdown()

    @property
    def stopped(self) -> bool:
        return self._is_closed

    def _shutdown(self, timeout: float = 2.0) -> None:
        """Close the sockets and let the threads end; a second caller (a signal arriving during
        shutdown, another thread) returns at once instead of waiting on the first."""
        if not self._closing.acquire(blocking=False):
            return
        self._stopping.set()
        for server in self._servers.values():
            server.close(timeout)
        self._is_closed = True

    def __enter__(self) -> "TwinServerGroup":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def _locks(twins: Mapping[str, Any]) -> dict[str, threading.Lock]:
    """One lock per instrument; twins fronting the same simulated sample share one."""
    by_key: dict[int, threading.Lock] = {}
    locks = {}
    for role, twin in twins.items():
        shared = getattr(twin, "sample", None)
        key = id(shared) if shared is not None else id(twin)
        locks[role] = by_key.setdefault(key, threading.Lock())
    return locks


def serve_twins(twins: Mapping[str, tuple[str, Any]], host: str = "127.0.0.1",
                ports: Mapping[str, int] | None = None, *, allow_remote: bool = False,
                idle_timeout: float | None = IDLE_TIMEOUT, max_connections: int = MAX_CONNECTIONS) -> TwinServerGroup:
    """Serve each ``role → (dialect name, twin)`` on its own port of ``host``.

    ``ports`` maps roles to ports (0 or absent: the OS picks a free one).
    ``idle_timeout`` (s, None = never) disconnects silent clients and readers that
    stall; ``max_connections`` bounds the clients served at once per instrument.
    Everything is checked before any port is bound: unknown dialect names
    raise listing the known ones, a twin that does not satisfy the dialect's
    role raises TypeError, a non-loopback host raises unless ``allow_remote``.
    """
    ports = dict(ports or {})
    unknown = set(ports) - set(twins)
    if unknown:
        raise ValueError(f"ports given for roles not served: {', '.join(sorted(unknown))}")
    family, address = _bind_address(host, allow_remote)
    dialects: dict[str, Dialect] = {}
    for role, (name, twin) in twins.items():
        cls = get_dialect(name)
        if not isinstance(twin, cls.role):
            raise TypeError(f"{role}: {type(twin).__name__} is not a {cls.role.__name__}, which dialect {name!r} fronts")
        dialects[role] = cls(twin)
    if idle_timeout is not None and not idle_timeout > 0:
        raise ValueError(f"idle_timeout must be > 0 s or None, got {idle_timeout!r}")
    if int(max_connections) < 1:
        raise ValueError(f"max_connections must be ≥ 1, got {max_connections!r}")
    locks = _locks({role: twin for role, (_, twin) in twins.items()})
    stopping = threading.Event()
    servers: dict[str, _Server] = {}
    try:
        for role, dialect in dialects.items():
            servers[role] = _Server(role, dialect, address, int(ports.get(role, 0)), family, locks[role], stopping,
                                    idle_timeout, int(max_connections))
    except BaseException:
        stopping.set()
        for server in servers.values():
            server.close(1.0)
        raise
    group = TwinServerGroup(servers, address, stopping)
    log.info("serving twins on %s: %s", host, group.ports)
    return group
