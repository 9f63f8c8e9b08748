"""The json-file log driver's options and time stamps. The log itself is written by the container monitor
(native/jsonlog.c: one JSON object per line of output, rotated by max-size/max-file)."""

from __future__ import annotations

import time

_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "m": 1024**2, "mb": 1024**2, "g": 1024**3, "gb": 1024**3}


def parse_size(text: str | int | None) -> int:
    """ "10m" -> 10485760; -1/""/None -> -1 (unlimited)."""
    if text is None or text == "" or str(text) == "-1":
        return -1
    raw = str(text).strip().lower()
    digits = raw.rstrip("bkmg")
    unit = raw[len(digits) :]
    if unit not in _UNITS or not digits.replace(".", "", 1).isdigit():
        raise ValueError(f"invalid max-size: {text}")
    return int(float(digits) * _UNITS[unit])


def rfc3339nano(ns: int | None = None) -> str:
    ns = time.time_ns() if ns is None else ns
    secs, frac = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{frac:09d}Z"
