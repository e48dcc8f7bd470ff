"""What every twin instrument shares: a call log, shutdown and close."""

from __future__ import annotations

from typing import Any

from hil.errors import InstrumentError


class TwinInstrument:
    """Base of the twins. ``received`` lists (method, args) of every role call."""

    def __init__(self) -> None:
        self.received: list[tuple[str, tuple[Any, ...]]] = []
        self.closed = False

    def _log(self, method: str, *args: Any) -> None:
        if self.closed:
            raise InstrumentError(f"{type(self).__name__} is closed")
        self.received.append((method, args))

    def shutdown(self) -> None:
        """Outputs off; subclasses with outputs extend this."""
        self.received.append(("shutdown", ()))

    def close(self) -> None:
        self.received.append(("close", ()))
        self.closed = True
