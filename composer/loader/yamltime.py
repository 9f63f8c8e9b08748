"""YAML timestamps as go-yaml v3 reads them: unquoted dates become times, not strings.

Compose rejects a time where its schema wants a string (`environment: {D: 2024-01-02}` is an
error) and prints one in RFC 3339 where anything goes (`x-*` extensions). `Timestamp` is a value
the JSON Schema sees as no string; `plain_timestamps` turns the survivors into their RFC 3339 text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, time
from typing import Any

# go-yaml's layouts: "2006-1-2T15:4:5.999999999Z07:00" (also with "t"), "2006-1-2 15:4:5.999999999",
# "2006-1-2"; Go's time.Parse takes 1-2 digit month/day/hour/minute/second and a 4-digit year.
_DATE = r"(\d{4})-(\d{1,2})-(\d{1,2})"
_CLOCK = r"(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d+))?"
_ZONED = re.compile(rf"{_DATE}[Tt]{_CLOCK}(Z|[+-]\d{{2}}:\d{{2}})")
_SPACED = re.compile(rf"{_DATE} {_CLOCK}")
_DATE_ONLY = re.compile(_DATE)
_LAYOUTS = ((_DATE_ONLY, False, False), (_SPACED, True, False), (_ZONED, True, True))


@dataclass(frozen=True)
class Timestamp:
    rfc3339: str

    def __str__(self) -> str:
        return self.rfc3339


def parse_timestamp(text: str) -> Timestamp | None:
    """The timestamp an unquoted scalar denotes, or None if it is not one (then it is a string)."""
    if not text[:1].isdigit():
        return None
    for pattern, has_clock, has_zone in _LAYOUTS:
        m = pattern.fullmatch(text)
        if m is None:
            continue
        year, month, day = (int(g) for g in m.groups()[:3])
        hour = minute = second = 0
        fraction, zone = "", "Z"
        if has_clock:
            hour, minute, second = (int(g) for g in m.groups()[3:6])
            fraction = (m.group(7) or "")[:9].rstrip("0")
            if has_zone and m.group(8) not in ("Z", "+00:00", "-00:00"):
                zone = m.group(8)
        try:
            date(year, month, day)
            time(hour, minute, second)
        except ValueError:
            return None
        frac = f".{fraction}" if fraction else ""
        return Timestamp(f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}{frac}{zone}")
    return None


def plain_timestamps(value: Any) -> Any:
    """Timestamps replaced by their RFC 3339 text (after validation let them through)."""
    if isinstance(value, Timestamp):
        return value.rfc3339
    if isinstance(value, dict):
        return {k: plain_timestamps(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain_timestamps(v) for v in value]
    return value
