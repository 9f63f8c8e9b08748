"""Signal names and numbers as the Docker API spells them ("SIGTERM", "TERM", "15")."""

from __future__ import annotations

import signal as signals

from engine.errors import InvalidParameter

SIGNALS = {
    s.name[3:]: int(s) for s in signals.Signals if s.name.startswith("SIG") and not s.name.startswith("SIG_")
}


def parse_signal(value: str | int | None, default: int = signals.SIGTERM) -> int:
    if value is None or value == "":
        return default
    if isinstance(value, int) or str(value).isdigit():
        n = int(value)
    else:
        name = str(value).upper().removeprefix("SIG")
        if name not in SIGNALS:
            raise InvalidParameter(f"Invalid signal: {value}")
        n = SIGNALS[name]
    if not 0 < n < 65:
        raise InvalidParameter(f"Invalid signal: {value}")
    return n
