"""Durations, byte sizes and scalar coercions, spelled the way Compose prints them.

Compose parses durations like Go's `time.ParseDuration` (plus `d`/`w`) and prints them with Go's
`time.Duration.String()` ("1m30s", "1.5s", "500ms"); byte sizes (`512m`, `1.5g`) are parsed like
docker/go-units `RAMInBytes` (binary multiples) and printed as a decimal string of bytes.
"""

from __future__ import annotations

import re

_NS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "μs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60 * 1_000_000_000,
    "h": 3600 * 1_000_000_000,
    "d": 86400 * 1_000_000_000,
    "w": 7 * 86400 * 1_000_000_000,
}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h|d|w)")
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b)?$", re.IGNORECASE)
_SIZE_MULT = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}


class UnitError(ValueError):
    """A duration or size that cannot be parsed; the message names the bad value."""


def parse_duration(value: object) -> int:
    """Parse a Compose duration into nanoseconds ("1m30s", "1.5h", "500ms", "0")."""
    text = str(value).strip()
    if not text:
        raise UnitError(f"invalid duration {value!r}")
    sign = 1
    if text[:1] in "+-":
        sign = -1 if text[0] == "-" else 1
        text = text[1:]
    if text == "0":
        return 0
    from decimal import Decimal  # only while loading: a cached project never parses durations (~1 ms)

    pos = 0
    total = Decimal(0)
    while pos < len(text):
        match = _DURATION_PART.match(text, pos)
        if match is None:
            raise UnitError(f"invalid duration {value!r}")
        total += Decimal(match.group(1)) * _NS[match.group(2)]
        pos = match.end()
    if not text:
        raise UnitError(f"invalid duration {value!r}")  # a lone sign
    return sign * int(total)


def _fraction(value: int, unit: int) -> str:
    """value/unit printed like Go: integer part, then the fraction without trailing zeros."""
    whole, rest = divmod(value, unit)
    if rest == 0:
        return str(whole)
    digits = len(str(unit)) - 1
    frac = str(rest).rjust(digits, "0").rstrip("0")
    return f"{whole}.{frac}"


def format_duration(ns: int) -> str:
    """Go's time.Duration.String()."""
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    ns = abs(ns)
    if ns < 1_000:
        return f"{sign}{ns}ns"
    if ns < 1_000_000:
        return f"{sign}{_fraction(ns, 1_000)}µs"
    if ns < 1_000_000_000:
        return f"{sign}{_fraction(ns, 1_000_000)}ms"
    hours, rest = divmod(ns, 3600 * 1_000_000_000)
    minutes, rest = divmod(rest, 60 * 1_000_000_000)
    seconds = _fraction(rest, 1_000_000_000) + "s"
    if hours:
        return f"{sign}{hours}h{minutes}m{seconds}"
    if minutes:
        return f"{sign}{minutes}m{seconds}"
    return f"{sign}{seconds}"


def canonical_duration(value: object) -> str:
    return format_duration(parse_duration(value))


def parse_bytes(value: object) -> int:
    """A byte size: an integer, or a number with a binary unit suffix (k, m, g, t, p; optional b/ib)."""
    if isinstance(value, bool):
        raise UnitError(f"invalid size {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return 0  # the reference decodes only integers and strings; a YAML float is silently unset
    text = str(value).strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    match = _SIZE.match(text)
    if match is None:
        raise UnitError(f"invalid size: {value!r}")
    from decimal import Decimal, InvalidOperation

    try:
        number = Decimal(match.group(1))
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only decimals
        raise UnitError(f"invalid size: {value!r}") from exc
    return int(number * _SIZE_MULT[match.group(2).lower()])


def canonical_bytes(value: object) -> str:
    return str(parse_bytes(value))


def to_int(value: object) -> int:
    if isinstance(value, bool):
        raise UnitError(f"invalid integer {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    try:
        return int(str(value).strip())
    except ValueError as exc:
        raise UnitError(f"invalid integer {value!r}") from exc


def to_float(value: object) -> float | int:
    """A float as Go prints a float32 field: whole numbers without a fraction."""
    if isinstance(value, bool):
        raise UnitError(f"invalid number {value!r}")
    try:
        number = float(str(value).strip()) if not isinstance(value, int | float) else float(value)
    except ValueError as exc:
        raise UnitError(f"invalid number {value!r}") from exc
    return int(number) if number.is_integer() else number


_TRUE = {"true", "1", "t", "yes", "y", "on"}
_FALSE = {"false", "0", "f", "no", "n", "off"}


def to_bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise UnitError(f"invalid boolean {value!r}")


def scalar_str(value: object) -> str:
    """A scalar as Compose stringifies it in maps of strings (environment, labels...)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return str(value)
