"""Docker's json-file log driver: one JSON object per line of output, rotated by max-size/max-file."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "m": 1024**2, "mb": 1024**2, "g": 1024**3, "gb": 1024**3}
_MAX_LINE = 16 * 1024  # Docker splits longer lines into partial entries of this size


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


class JsonFileLog:
    def __init__(self, path: Path, opts: dict[str, Any] | None = None) -> None:
        opts = opts or {}
        self.path = Path(path)
        self.max_size = parse_size(opts.get("max-size"))
        self.max_file = max(int(opts.get("max-file") or 1), 1)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o640)
        self.size = os.fstat(self.fd).st_size
        self.pending: dict[str, bytes] = {"stdout": b"", "stderr": b""}

    def write(self, stream: str, data: bytes) -> None:
        buf = self.pending.get(stream, b"") + data
        while True:
            nl = buf.find(b"\n")
            if nl < 0:
                if len(buf) < _MAX_LINE:
                    break
                nl = _MAX_LINE - 1
            self._entry(stream, buf[: nl + 1])
            buf = buf[nl + 1 :]
        self.pending[stream] = buf

    def flush(self) -> None:
        for stream, buf in self.pending.items():
            if buf:
                self._entry(stream, buf)
        self.pending = {k: b"" for k in self.pending}

    def _entry(self, stream: str, line: bytes) -> None:
        record = (
            json.dumps(
                {"log": line.decode("utf-8", "replace"), "stream": stream, "time": rfc3339nano()},
                ensure_ascii=False,
            ).encode()
            + b"\n"
        )
        if self.max_size > 0 and self.size + len(record) > self.max_size and self.size > 0:
            self._rotate()
        os.write(self.fd, record)
        self.size += len(record)

    def _rotate(self) -> None:
        os.close(self.fd)
        if self.max_file > 1:
            for i in range(self.max_file - 1, 0, -1):
                older = self.path.with_name(f"{self.path.name}.{i}")
                if i == 1:
                    if self.path.exists():
                        os.replace(self.path, older)
                elif self.path.with_name(f"{self.path.name}.{i - 1}").exists():
                    os.replace(self.path.with_name(f"{self.path.name}.{i - 1}"), older)
            flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC
        else:
            flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND | os.O_CLOEXEC
        self.fd = os.open(self.path, flags, 0o640)
        self.size = 0

    def close(self) -> None:
        self.flush()
        os.close(self.fd)
