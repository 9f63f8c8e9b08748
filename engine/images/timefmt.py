"""RFC 3339 timestamps as Docker writes them (nanoseconds, `Z`), their parsing back to Unix seconds, and the
API's since/until values."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

from engine.errors import InvalidParameter

ZERO_TIME = "0001-01-01T00:00:00Z"
_FRACTION_RE = re.compile(r"\.(\d+)")


def now() -> str:
    ns = time.time_ns()
    base = datetime.fromtimestamp(ns // 1_000_000_000, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}.{ns % 1_000_000_000:09d}Z"


def to_unix(value: str | None) -> int:
    """Seconds since the epoch for an RFC 3339 string; 0 when missing or unparsable."""
    if not value:
        return 0
    text = _FRACTION_RE.sub(lambda m: "." + m.group(1)[:6], value.replace("Z", "+00:00"))
    try:
        return int(datetime.fromisoformat(text).timestamp())
    except ValueError:
        return 0


def timestamp_ns(value: str, name: str) -> int | None:
    """since/until: unix seconds (with optional fraction) or RFC 3339; "" -> None."""
    value = value.strip()
    if not value:
        return None
    try:
        secs, _, frac = value.partition(".")
        if secs.lstrip("-").isdigit() and (not frac or frac.isdigit()):
            nanos = int((frac + "000000000")[:9]) if frac else 0
            return int(secs) * 1_000_000_000 + nanos
        iso = value.replace("Z", "+00:00")
        dt = datetime.fromisoformat(iso)
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return int(dt.timestamp()) * 1_000_000_000 + dt.microsecond * 1000
    except ValueError:
        raise InvalidParameter(f"invalid value for {name}: {value!r}") from None
