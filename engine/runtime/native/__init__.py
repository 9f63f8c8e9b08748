"""The native monitor (monitor.c + jsonlog.c, request.c, util.c): compiled when the package is built
(setup.py puts `cmon` and its `cmon.key` beside these sources in a wheel), else built on first need with
the host's C compiler, cached by the sources' hash.

An installed package's binary is used when its key matches the sources' hash, so a wheel never needs a
compiler and an edited checkout never runs a stale binary. The run-time build below is the development
fallback (a source checkout or an editable install).

A monitor that has started its container execve()s the binary (see handoff.py), so the process that
waits for the container and serves its stdio is ~1.4 MiB of C instead of a Python interpreter. The
binary lives at <exec-root>/native/cmon-<sha256[:16]> (the runtime knows only the exec root). The zygote
builds it on the first start in an exec root, in a child of its own (log: build.log beside it), while
that first container is served by the Python loop; the build holds an flock so builds never race, and
renames the result into place atomically. Without a compiler, with a compiler that fails (remembered in
a `.failed` file beside it, so the warning is logged once), or with COMPOSER_NATIVE_MONITOR=0, the
Python loop stays in use.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
from pathlib import Path
from typing import Any, NoReturn

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
SOURCES = ("monitor.c", "jsonlog.c", "request.c", "util.c")  # compiled together
HEADERS = ("native.h",)
ENV = "COMPOSER_NATIVE_MONITOR"
CFLAGS = ["-O2", "-Wall", "-Wextra", "-Werror"]
PACKAGED = HERE / "cmon"  # made by setup.py's build step; absent in a source checkout
PACKAGED_KEY = HERE / "cmon.key"  # the source_key() it was built from
# The argv[0] the binary runs under: runtime._kill_monitor checks a pid's cmdline for "engine.runtime".
ARGV0 = "engine.runtime.native-monitor"


def enabled() -> bool:
    return os.environ.get(ENV, "1") != "0" and source_key() != ""


_key: str | None = None


def source_key() -> str:
    """sha256 of the sources and flags (16 hex digits), computed once: the zygote does it before forking."""
    global _key
    if _key is None:
        import importlib

        sha256: Any = None
        # CPython's own sha256 (3.11: _sha256, 3.12+: _sha2): hashlib would load OpenSSL, ~3.6 MiB more
        # in the zygote and so in every monitor it forks.
        for name in ("_sha256", "_sha2", "hashlib"):
            with contextlib.suppress(ImportError):
                sha256 = importlib.import_module(name).sha256
                break
        try:
            text = b"".join((HERE / name).read_bytes() for name in (*SOURCES, *HEADERS))
            _key = sha256(text + " ".join(CFLAGS).encode()).hexdigest()[:16]
        except OSError as e:  # not installed with the package: the Python loop serves
            log.warning("native monitor source unreadable, using the Python loop err=%s", e)
            _key = ""
    return _key


_packaged: tuple[Path | None] | None = None


def packaged() -> Path | None:
    """The binary the package was built with, when it matches these sources (looked up once: the zygote
    does it before forking, so a monitor's hand-over reads no file for it)."""
    global _packaged
    if _packaged is None:
        try:
            key = PACKAGED_KEY.read_text().strip()
        except OSError:
            key = ""
        usable = key == source_key() and os.access(PACKAGED, os.X_OK)
        _packaged = (PACKAGED if usable else None,)
    return _packaged[0]


def built(cache_dir: Path) -> Path | None:
    """The binary if it is enabled and already built: a look-up, never a build."""
    if not enabled():
        return None
    if (installed := packaged()) is not None:
        return installed
    target = cache_dir / f"cmon-{source_key()}"
    return target if os.access(target, os.X_OK) else None


def binary(cache_dir: Path) -> Path | None:
    """The compiled monitor, building it if needed; None when it cannot be had (fallback: Python loop)."""
    if not enabled():
        return None
    if (installed := packaged()) is not None:
        return installed
    target = cache_dir / f"cmon-{source_key()}"
    if os.access(target, os.X_OK):
        return target
    failed = target.with_name(target.name + ".failed")
    if failed.exists():
        return None
    import shutil  # not in the zygote: only the first start of a new source looks for a compiler

    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        log.info("no C compiler in PATH: native monitor unavailable, using the Python loop")
        return None
    import fcntl

    cache_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(cache_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a concurrent first start waits for our build, then uses it
        if os.access(target, os.X_OK):
            return target
        if failed.exists():
            return None
        return _compile(cc, target, failed)


def _abandon(_sig: int, _frame: object) -> None:
    """The zygote is gone: end the compiler's processes (our process group), reap them all, exit."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    os.killpg(0, signal.SIGTERM)  # we ignore it now; cc, cc1, as, ld do not
    with contextlib.suppress(ChildProcessError):
        while True:
            os.waitpid(-1, 0)
    os._exit(1)


def build_in_child(cache_dir: Path, zygote: int) -> NoReturn:
    """The body of the zygote's builder child: own session, stdio to <cache_dir>/build.log, build, exit.

    A build belongs to its zygote (so to its daemon): when that exits, the builder gets SIGTERM and takes
    its whole process group (the compiler's processes) down; the next zygote builds again."""
    from engine.kernel import syscalls

    code = 1
    try:
        os.setsid()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the zygote ignores it; we wait for the compiler
        signal.signal(signal.SIGTERM, _abandon)
        sc = syscalls.LinuxSyscalls()
        sc.prctl(syscalls.PR_SET_CHILD_SUBREAPER, 1)  # the compiler's orphans are ours to reap, not init's
        sc.prctl(syscalls.PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() == zygote:  # else it exited before the prctl: nothing to build for
            cache_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            null = os.open(os.devnull, os.O_RDONLY)
            out = os.open(cache_dir / "build.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
            os.dup2(null, 0)
            os.dup2(out, 1)
            os.dup2(out, 2)
            os.closerange(3, 65536)  # the zygote's socket, the fds of monitors it just forked
            logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
            code = 0 if binary(cache_dir) is not None else 1
    except Exception:
        log.exception("native monitor build failed dir=%s", cache_dir)
    finally:
        logging.shutdown()
        os._exit(code)


def compile_monitor(cc: str, output: Path) -> str:
    """Compile the sources into `output`; returns "" or the compiler's first error line. setup.py's build
    step calls this too (it loads this file on its own: nothing else of the engine is imported here)."""
    import subprocess

    try:
        sources = [str(HERE / name) for name in SOURCES]
        done = subprocess.run([cc, *CFLAGS, "-o", str(output), *sources], capture_output=True, text=True,
                              timeout=120, check=False)
        return "" if done.returncode == 0 else (done.stderr.strip().splitlines() or ["exit status"])[0]
    except (OSError, subprocess.TimeoutExpired) as e:
        return str(e)


def _compile(cc: str, target: Path, failed: Path) -> Path | None:
    import time

    for stale in target.parent.glob(".cmon-*.tmp-*"):  # left by a build killed with its zygote
        stale.unlink(missing_ok=True)  # (we hold the lock: no other build is writing)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    began = time.monotonic()
    error = compile_monitor(cc, tmp)
    if error:
        tmp.unlink(missing_ok=True)
        failed.write_text(error + "\n")
        log.warning("native monitor build failed, using the Python loop cc=%s err=%s", cc, error)
        return None
    os.rename(tmp, target)
    log.info("native monitor built path=%s secs=%.2f", target, time.monotonic() - began)
    return target
