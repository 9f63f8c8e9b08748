"""RFC 3339 timestamps as Docker writes them (nanoseconds, `Z`) and their parsing back to Unix seconds."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

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
