"""IEEE 488.2 definite-length blocks (``#<n><length><bytes>``) read over a pymeasure adapter.

pymeasure's ``read_binary_values`` reads byte by byte until the VISA timeout
expires (it cannot know where a binary reply ends), so a 4 kB trace costs a
full timeout. A definite-length block says its own length: read the header,
then exactly that many bytes, then the message terminator. Three reads.
"""

from __future__ import annotations

import numpy as np

#: What a SCPI instrument ends every response message with.
TERMINATOR = b"\n"


def read_block(instrument) -> bytes:
    """Read one definite-length block and the terminator that follows it; return the payload.

    ``instrument`` is anything with pymeasure's ``read_bytes(count)``.
    Raises ValueError when the reply is not a definite-length block (an ASCII
    reply because the format was not set, or a truncated one).
    """
    head = instrument.read_bytes(2)
    if len(head) != 2 or head[:1] != b"#" or not head[1:2].isdigit():
        rest = _drain(instrument) if not head.endswith(TERMINATOR) else ""
        raise ValueError(
            f"expected an IEEE 488.2 block starting '#<digit>', got {(head.decode('latin-1') + rest)[:40]!r}; "
            "is the trace format set to binary (REAL,32)?"
        )
    digits = int(head[1:2])
    if digits == 0:
        raise ValueError("indefinite-length block (#0) received; expected a definite-length one")
    length_text = instrument.read_bytes(digits)
    if not length_text.isdigit():
        raise ValueError(f"malformed block length {length_text!r}")
    length = int(length_text)
    body = instrument.read_bytes(length + len(TERMINATOR))
    if len(body) != length + len(TERMINATOR) or not body.endswith(TERMINATOR):
        raise ValueError(f"block of {length} bytes not followed by the terminator: got {body[-4:]!r}")
    return body[:length]


def _drain(instrument) -> str:
    """Read what is left of a reply that is not a block, so the next query starts clean."""
    try:
        return instrument.read()
    except Exception:  # a timeout here only means nothing was left
        return ""


def decode_real32(payload: bytes, big_endian: bool) -> np.ndarray:
    """REAL,32 payload → float64 array; the byte order is the instrument's, not this machine's."""
    if len(payload) % 4:
        raise ValueError(f"REAL,32 block of {len(payload)} bytes is not a whole number of floats")
    dtype = ">f4" if big_endian else "<f4"
    return np.frombuffer(payload, dtype=dtype).astype(np.float64)
