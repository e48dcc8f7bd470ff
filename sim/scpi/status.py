"""The IEEE 488.2 status model every dialect answers from: Standard Event Status Register (ESR)
with its enable (``*ESE``), and the Status Byte (``*STB?``) with its enable (``*SRE``).

IEEE 488.2-1992 §11: ESR bits — 0 OPC (``*OPC`` done), 2 QYE (query error,
-400…-499), 3 DDE (device-specific error, -300…-399 and positive codes),
4 EXE (execution error, -200…-299), 5 CME (command error, -100…-199).
Status byte (SCPI-99 vol. 1 §9, IEEE 488.2 §11.2) — bit 2 EAV (error/event
queue not empty), bit 5 ESB (ESR AND ESE ≠ 0), bit 6 MSS (STB AND SRE ≠ 0,
bit 6 itself excluded). ``*ESR?`` reads and clears the ESR; ``*CLS`` clears
it and the error queue; ``*RST`` touches neither (§10.32). The message-
available bit (MAV, 4) reads 0: a socket server has sent its reply before
the next query can look. No power-on bit (PON) is raised, since a twin is
never powered off.
"""

from __future__ import annotations

OPC, QYE, DDE, EXE, CME = 1, 4, 8, 16, 32
EAV, ESB, MSS = 4, 32, 64


def event_bit(code: int) -> int:
    """The ESR bit an error code sets (0 for 'no error')."""
    if code == 0:
        return 0
    if -199 <= code <= -100:
        return CME
    if -299 <= code <= -200:
        return EXE
    if -499 <= code <= -400:
        return QYE
    return DDE  # -300…-399, and positive (device-specific) codes


class StatusModel:
    """ESR, ESE and SRE of one instrument; the STB is computed from them and the error count."""

    def __init__(self) -> None:
        self.esr = 0
        self.ese = 0
        self.sre = 0

    def record(self, code: int) -> None:
        """An error entered the queue: raise its event bit."""
        self.esr |= event_bit(code)

    def operation_complete(self) -> None:
        self.esr |= OPC

    def read_esr(self) -> int:
        """``*ESR?``: the register's value, then cleared."""
        value, self.esr = self.esr, 0
        return value

    def status_byte(self, errors_pending: int) -> int:
        """``*STB?`` (does not clear anything)."""
        stb = EAV if errors_pending else 0
        if self.esr & self.ese:
            stb |= ESB
        if stb & self.sre & ~MSS:
            stb |= MSS
        return stb

    def clear(self) -> None:
        """``*CLS``: the event register (the enables stay)."""
        self.esr = 0
