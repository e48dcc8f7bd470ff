"""Transport settings every driver wants on a raw TCP socket, whatever the instrument."""

from __future__ import annotations

import logging
import socket

log = logging.getLogger(__name__)


def disable_nagle(instrument) -> None:
    """Send each command at once on a ``TCPIP::host::port::SOCKET`` resource.

    VISA's default for VI_ATTR_TCPIP_NODELAY is true, but pyvisa-py (0.8)
    leaves Nagle's algorithm on for SOCKET resources and cannot set the
    attribute (its setter is not wired). A command written right after
    another then waits for the first one's ACK, which the instrument may
    delay (40 ms on Linux, up to 200 ms on embedded stacks): every
    write-write-query sequence stalls. So: set the VISA attribute; where the
    backend refuses, set the option on pyvisa-py's socket itself. Other
    resources are left alone; failing all that costs speed only, so it is logged, not raised.
    """
    connection = getattr(instrument.adapter, "connection", None)
    try:
        from pyvisa import constants
        from pyvisa.resources import TCPIPSocket
    except ImportError:  # pragma: no cover - pyvisa is a dependency
        return
    if not isinstance(connection, TCPIPSocket):
        return
    try:
        connection.set_visa_attribute(constants.VI_ATTR_TCPIP_NODELAY, constants.VI_TRUE)
        return
    except Exception:  # pyvisa-py: UnknownAttribute
        pass
    session = getattr(connection.visalib, "sessions", {}).get(connection.session)
    sock = getattr(session, "interface", None)
    if isinstance(sock, socket.socket):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    else:
        log.debug("could not disable Nagle's algorithm on %s", connection.resource_name)
