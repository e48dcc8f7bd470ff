"""Range checks that name the quantity and the instrument, raised before anything is sent."""

from __future__ import annotations


def check(name: str, value: float, bounds: tuple[float, float], unit: str, model: str) -> None:
    """Raise ValueError when ``value`` lies outside ``bounds`` (inclusive); never clip."""
    low, high = bounds
    if not low <= value <= high:
        raise ValueError(f"{name} {value:.6g} {unit} is outside the {model}'s range [{low:g}, {high:g}] {unit}")


class ErrorChecked:
    """Read the instrument's error queue after each configuring step; a refusal raises.

    Mixed in before the pymeasure class. Every command written (not queries)
    is remembered until the next :meth:`check_step`, which reads ``SYST:ERR?``
    until ``0,...``: any entry raises :class:`hil.errors.InstrumentError`
    naming the step, the entries and the commands sent in it — a refused
    upload or setting is caught at once, not when the data comes out wrong.
    """

    MODEL: str = "instrument"
    ERROR_QUERY = "SYST:ERR?"
    #: Entries read at most per check (an instrument's queue holds 20 to 30).
    MAX_ERRORS = 32

    def write(self, command: str, **kwargs) -> None:
        if "?" not in command:
            self.__dict__.setdefault("_sent", []).append(command.split(" ", 1)[0])
        super().write(command, **kwargs)

    def write_binary_values(self, command: str, values, *args, **kwargs):
        self.__dict__.setdefault("_sent", []).append(command.split(" ", 1)[0] + " <block>")
        return super().write_binary_values(command, values, *args, **kwargs)

    def check_step(self, step: str) -> None:
        """Raise InstrumentError if the error queue holds anything after ``step``."""
        from hil.errors import InstrumentError

        sent, self._sent = self.__dict__.get("_sent", []), []
        entries = []
        for _ in range(self.MAX_ERRORS):
            reply = self.ask(self.ERROR_QUERY).strip()
            try:
                code = int(float(reply.split(",", 1)[0]))
            except ValueError:
                raise InstrumentError(f"{self.MODEL}: {self.ERROR_QUERY} answered {reply!r}, not an error entry")
            if code == 0:
                break
            entries.append(reply)
        if entries:
            raise InstrumentError(
                f"{self.MODEL} refused {step}: {'; '.join(entries)} (commands sent: {', '.join(sent) or 'none'}); "
                "nothing after them was sent. Check the setting against the instrument's range and options."
            )
