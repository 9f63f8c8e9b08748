"""API version constants: what the docker CLI 28.2 negotiates down to, and the oldest we accept."""

from __future__ import annotations

API_VERSION = "1.47"
MIN_API_VERSION = "1.24"


def parse_version(raw: str) -> tuple[int, int] | None:
    major, sep, minor = raw.partition(".")
    if not sep or not major.isdigit() or not minor.isdigit():
        return None
    return int(major), int(minor)
