"""Reading a container's json-file log (`{"log","stream","time"}` per line, rotated as <log>.1 .. <log>.N,
.1 the newest rotated file) for `docker logs`: since/until/tail/timestamps, and follow across rotation."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import struct
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from engine.containers.model import parse_rfc3339

FOLLOW_POLL = 0.1  # seconds between looks at a followed log when nothing new arrived


@dataclass(frozen=True)
class LogOptions:
    """What `GET /containers/{id}/logs` asks for: streams, since/until, tail, timestamps."""

    stdout: bool = True
    stderr: bool = True
    since: float = 0.0  # unix seconds; 0 = from the start
    until: float = 0.0  # 0 = no end
    tail: int | None = None  # None = all
    timestamps: bool = False
    follow: bool = False


@dataclass(frozen=True)
class LogEntry:
    """One line of a container's log, with its stream and time."""

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


BATCH_BYTES = 1 << 20  # existing logs are sent in batches of about this size, never loaded whole


class ExistingLog:
    """The entries already written, oldest first, read in batches (`tail` keeps only the last N).
    After the last batch, `end` is (inode, offset) of the current file's end, where `follow` goes on."""

    def __init__(self, log_path: Path, opts: LogOptions) -> None:
        self.log_path = log_path
        self.opts = opts
        self.end: tuple[int, int] | None = None
        self._batches = self._read()

    def next_batch(self) -> list[LogEntry] | None:
        """Blocking; None when done."""
        return next(self._batches, None)

    def _read(self) -> Iterator[list[LogEntry]]:
        tail: deque[LogEntry] | None = None
        if self.opts.tail is not None:
            tail = deque(maxlen=max(self.opts.tail, 0))
        batch: list[LogEntry] = []
        size = 0
        for path in _files(self.log_path):
            with contextlib.ExitStack() as stack:
                try:
                    f = stack.enter_context(open(path, "rb"))
                except FileNotFoundError:
                    continue  # rotated away meanwhile
                st = os.fstat(f.fileno())
                # only what is there now: the current file keeps growing while we read
                remaining = st.st_size
                offset = 0
                pending = b""
                while remaining > 0:
                    data = f.read(min(BATCH_BYTES, remaining))
                    if not data:
                        break
                    remaining -= len(data)
                    data = pending + data
                    cut = data.rfind(b"\n") + 1
                    pending = data[cut:]
                    offset += cut
                    for line in data[:cut].splitlines():
                        e = _parse(line)
                        if e is None or not _wanted(e, self.opts):
                            continue
                        if tail is not None:
                            tail.append(e)
                            continue
                        batch.append(e)
                        size += len(e.data)
                    if batch and size >= BATCH_BYTES:
                        yield batch
                        batch, size = [], 0
                if path == self.log_path:
                    self.end = (st.st_ino, offset)
        if tail is not None:
            batch = list(tail)
        if batch:
            yield batch


def read_existing(log_path: Path, opts: LogOptions) -> tuple[list[LogEntry], tuple[int, int] | None]:
    """Everything already written that matches, at once (small logs, tests); plus the follow position."""
    existing = ExistingLog(log_path, opts)
    out: list[LogEntry] = []
    while (batch := existing.next_batch()) is not None:
        out += batch
    return out, existing.end


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
                    # rotated (maybe more than once since the last look): finish the file we were in,
                    # then every newer rotated file, then start the current one at 0
                    if inode:
                        buf += _after_rotation(log_path, inode, offset)
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


def _after_rotation(log_path: Path, inode: int, offset: int) -> bytes:
    """What was written after (inode, offset): the rest of that file, now <log>.k, then <log>.k-1 .. <log>.1.
    If the file is gone (rotated out past max-file), every rotated file left is newer: all of them."""
    rotated = _files(log_path)[:-1]  # oldest first
    out = b""
    found = False
    for path in rotated:
        try:
            with open(path, "rb") as f:
                if not found and os.fstat(f.fileno()).st_ino == inode:
                    found = True
                    f.seek(offset)
                    out = f.read()
                    continue
                data = f.read()
        except FileNotFoundError:
            continue
        if found:
            out += data
    if not found:
        out = b"".join(_read_quietly(p) for p in rotated)
    return out


def _read_quietly(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return b""


def _drain(data: bytes, opts: LogOptions) -> list[LogEntry]:
    out = []
    for line in data.splitlines():
        e = _parse(line)
        if e is not None and _wanted(e, opts):
            out.append(e)
    return out
