"""Reading a container's json-file log (`{"log","stream","time"}` per line, rotated as <log>.1 .. <log>.N,
.1 the newest rotated file) for `docker logs`: since/until/tail/timestamps, and follow across rotation."""

from __future__ import annotations

import asyncio
import json
import os
import struct
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from engine.containers.model import parse_rfc3339

FOLLOW_POLL = 0.1  # seconds between looks at a followed log when nothing new arrived


@dataclass(frozen=True)
class LogOptions:
    stdout: bool = True
    stderr: bool = True
    since: float = 0.0  # unix seconds; 0 = from the start
    until: float = 0.0  # 0 = no end
    tail: int | None = None  # None = all
    timestamps: bool = False
    follow: bool = False


@dataclass(frozen=True)
class LogEntry:
    stream: str  # stdout / stderr
    data: bytes
    time: str  # RFC 3339 nano as written

    def encode(self, tty: bool, timestamps: bool) -> bytes:
        payload = (self.time.encode() + b" " + self.data) if timestamps else self.data
        if tty:
            return payload
        return frame(1 if self.stream == "stdout" else 2, payload)


def frame(stream: int, payload: bytes) -> bytes:
    """Docker's stdcopy frame: stream byte, three zero bytes, big-endian length."""
    return struct.pack(">BxxxI", stream, len(payload)) + payload


def _parse(line: bytes) -> LogEntry | None:
    try:
        d = json.loads(line)
        return LogEntry(d.get("stream", "stdout"), d.get("log", "").encode(), d.get("time", ""))
    except ValueError:
        return None  # a line torn by a crash of the writer


def _files(log_path: Path) -> list[Path]:
    """Oldest first: <log>.N ... <log>.1, <log>."""
    rotated = []
    n = 1
    while (p := log_path.with_name(f"{log_path.name}.{n}")).exists():
        rotated.append(p)
        n += 1
    return list(reversed(rotated)) + [log_path]


def _wanted(e: LogEntry, opts: LogOptions) -> bool:
    if e.stream == "stdout" and not opts.stdout or e.stream == "stderr" and not opts.stderr:
        return False
    if opts.since or opts.until:
        t = parse_rfc3339(e.time)
        if opts.since and t < opts.since:
            return False
        if opts.until and t > opts.until:
            return False
    return True


def read_existing(log_path: Path, opts: LogOptions) -> tuple[list[LogEntry], tuple[int, int] | None]:
    """Everything already written that matches; plus (inode, offset) of the current file's end."""
    chunks: list[LogEntry] = []
    end: tuple[int, int] | None = None
    for path in _files(log_path):
        try:
            with open(path, "rb") as f:
                data = f.read()
                st = os.fstat(f.fileno())
        except FileNotFoundError:
            continue
        complete = data[: data.rfind(b"\n") + 1]
        if path == log_path:
            end = (st.st_ino, len(complete))
        for line in complete.splitlines():
            e = _parse(line)
            if e is not None and _wanted(e, opts):
                chunks.append(e)
    if opts.tail is not None and opts.tail >= 0:
        chunks = list(deque(chunks, maxlen=opts.tail)) if opts.tail else []
    return chunks, end


async def follow(
    log_path: Path, opts: LogOptions, start: tuple[int, int] | None, running: Callable[[], bool]
) -> AsyncIterator[LogEntry]:
    """New entries after `start`, across rotations, until the container stops and the log is drained."""
    inode, offset = start if start else (0, 0)
    buf = b""
    stopping = False
    while True:
        progressed = False
        try:
            with open(log_path, "rb") as f:
                st = os.fstat(f.fileno())
                if st.st_ino != inode:
                    # rotated: finish the old file (now <log>.1) first, then start the new one at 0
                    if inode:
                        old = log_path.with_name(log_path.name + ".1")
                        try:
                            with open(old, "rb") as g:
                                if os.fstat(g.fileno()).st_ino == inode:
                                    g.seek(offset)
                                    buf += g.read()
                        except FileNotFoundError:
                            pass
                        for e in _drain(buf, opts):
                            yield e
                        buf = b""
                    inode, offset = st.st_ino, 0
                elif st.st_size < offset:
                    offset = 0  # truncated in place (max-file 1)
                f.seek(offset)
                data = f.read()
        except FileNotFoundError:
            data = b""
        if data:
            offset += len(data)
            buf += data
            progressed = True
            cut = buf.rfind(b"\n") + 1
            for e in _drain(buf[:cut], opts):
                yield e
            buf = buf[cut:]
        if not progressed:
            if stopping:
                return
            if not running() or (opts.until and opts.until < time.time()):
                stopping = True  # one more read: lines written just before the exit
                continue
            await asyncio.sleep(FOLLOW_POLL)


def _drain(data: bytes, opts: LogOptions) -> list[LogEntry]:
    out = []
    for line in data.splitlines():
        e = _parse(line)
        if e is not None and _wanted(e, opts):
            out.append(e)
    return out
