"""The container monitor (monitor.c + jsonlog.c, request.c, util.c): the one program that serves a running
container's stdio, writes its json-file log and records its exit.

It is compiled when the package is built (setup.py puts `cmon` and its `cmon.key` beside these sources in
a wheel), else by the engine with the host's C compiler before it serves its first container (a source
checkout or an editable install), cached at <exec-root>/native/cmon-<sha256[:16]> by the sources' hash.
An installed package's binary is used when its key matches the sources' hash, so a wheel never needs a
compiler and an edited checkout never runs a stale binary.

`Monitors` is the engine's side: the daemon asks for the program when it starts (in a worker thread), and
a container start waits for that answer (`program`). A build holds an flock, so builds in one exec root
never race, and renames the result into place atomically. Without a compiler, or with one that fails, no
container can start: the reason (naming the compiler, or its first error line) is logged once and is every
start's error; the next daemon tries again. `engine.preflight` names a missing compiler before the daemon
takes its socket.

This file imports nothing of the engine: setup.py loads it on its own to compile the binary.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

# typing.TYPE_CHECKING without importing typing (engine._typecheck's, which this file cannot import:
# setup.py loads it on its own, outside the engine package, to build the monitor)
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
SOURCES = ("monitor.c", "jsonlog.c", "request.c", "util.c")  # compiled together
HEADERS = ("native.h",)
CFLAGS = ["-O2", "-Wall", "-Wextra", "-Werror"]
PACKAGED = HERE / "cmon"  # made by setup.py's build step; absent in a source checkout
PACKAGED_KEY = HERE / "cmon.key"  # the source_key() it was built from
# The argv[0] the binary runs under: runtime._kill_monitor checks a pid's cmdline for "engine.runtime".
ARGV0 = "engine.runtime.native-monitor"
COMPILERS = ("cc", "gcc")
INSTALL = "install a C compiler and libc's headers, e.g. `apt-get install gcc libc6-dev`"


class Unavailable(Exception):
    """The monitor cannot be had: no packaged binary and no (working) C compiler."""


@dataclass(frozen=True)
class Program:
    """What a monitor execve()s once its container runs: `exe`, with `argv` before the key=value words.

    The engine's is the compiled binary under ARGV0; tests pass the Python oracle
    (tests/support/monitor_oracle.py) the same way, to run both on the same scenarios."""

    exe: str
    argv: tuple[str, ...] = (ARGV0,)

    def as_json(self) -> dict[str, Any]:
        return {"exe": self.exe, "argv": list(self.argv)}


_key: str | None = None


def source_key() -> str:
    """sha256 of the sources and flags (16 hex digits), computed once."""
    global _key
    if _key is None:
        import hashlib

        text = b"".join((HERE / name).read_bytes() for name in (*SOURCES, *HEADERS))
        _key = hashlib.sha256(text + " ".join(CFLAGS).encode()).hexdigest()[:16]
    return _key


def packaged() -> Path | None:
    """The binary the package was built with, when it matches these sources."""
    try:
        key = PACKAGED_KEY.read_text().strip()
    except OSError:
        return None
    return PACKAGED if key == source_key() and os.access(PACKAGED, os.X_OK) else None


def built(cache_dir: Path) -> Path | None:
    """The binary if it is already there (packaged, or built into `cache_dir`): a look-up, never a build."""
    if (installed := packaged()) is not None:
        return installed
    target = cache_dir / f"cmon-{source_key()}"
    return target if os.access(target, os.X_OK) else None


def compiler() -> str | None:
    import shutil

    return next((found for name in COMPILERS if (found := shutil.which(name)) is not None), None)


def binary(cache_dir: Path) -> Path:
    """The compiled monitor, building it into `cache_dir` if needed; Unavailable says why it cannot be."""
    if (found := built(cache_dir)) is not None:
        return found
    cc = compiler()
    if cc is None:
        raise Unavailable(f"the container monitor is not built and no C compiler ({' or '.join(COMPILERS)}) "
                          f"is in PATH to build it: {INSTALL}")
    import fcntl

    cache_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(cache_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a concurrent build (another engine, same exec root) finishes first
        if (found := built(cache_dir)) is not None:
            return found
        return _compile(cc, cache_dir / f"cmon-{source_key()}")


def compile_monitor(cc: str, output: Path) -> str:
    """Compile the sources into `output`; returns "" or the compiler's first error line. setup.py's build
    step calls this too."""
    import subprocess

    try:
        sources = [str(HERE / name) for name in SOURCES]
        done = subprocess.run([cc, *CFLAGS, "-o", str(output), *sources], capture_output=True, text=True,
                              timeout=120, check=False)
        return "" if done.returncode == 0 else (done.stderr.strip().splitlines() or ["exit status"])[0]
    except (OSError, subprocess.TimeoutExpired) as e:
        return str(e)


def _compile(cc: str, target: Path) -> Path:
    import time

    for stale in target.parent.glob(".cmon-*.tmp-*"):  # left by a build killed with its engine
        stale.unlink(missing_ok=True)  # (we hold the lock: no other build is writing)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    began = time.monotonic()
    error = compile_monitor(cc, tmp)
    if error:
        tmp.unlink(missing_ok=True)
        raise Unavailable(f"the container monitor did not build with {cc}: {error} ({INSTALL})")
    os.rename(tmp, target)
    log.info("container monitor built path=%s secs=%.2f", target, time.monotonic() - began)
    return target


class Monitors:
    """The engine's one monitor program for an exec root: found or built once, by the first `program`
    call (the daemon makes it when it starts); later calls wait for that one and share its answer."""

    def __init__(self, cache_dir: Path) -> None:
        self.cache_dir = cache_dir
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._building = False
        self._program: Program | None = None
        self._error = ""

    def program(self) -> Program:
        """The monitor program, waiting for the build under way; Unavailable with the reason otherwise."""
        with self._lock:
            first, self._building = not self._building, True
        if first:
            self._build()  # in this thread; the others wait for it
        self._done.wait()
        if self._program is None:
            raise Unavailable(self._error)
        return self._program

    def _build(self) -> None:
        try:
            self._program = Program(str(binary(self.cache_dir)))
        except Unavailable as e:
            self._error = str(e)
            log.error("no container can start: %s", e)  # once: the result is kept for every start
        except Exception as e:  # noqa: BLE001 - an unexpected failure is still every start's clear error
            self._error = f"the container monitor could not be prepared: {e}"
            log.exception("container monitor build failed dir=%s", self.cache_dir)
        finally:
            self._done.set()


_shared: dict[Path, Monitors] = {}
_shared_lock = threading.Lock()


def monitors(cache_dir: Path) -> Monitors:
    """The process's one `Monitors` per cache dir (the daemon's runtimes share an exec root)."""
    with _shared_lock:
        return _shared.setdefault(cache_dir, Monitors(cache_dir))
