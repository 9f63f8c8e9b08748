"""The native monitor (monitor.c): built on first need with the host's C compiler, cached by source hash.

A monitor that has started its container execve()s the binary (see monitor.Monitor.exec_native), so the
process that waits for the container and serves its stdio is a few hundred KiB of C instead of a Python
interpreter. The binary lives at <exec-root>/native/cmon-<sha256[:16]> (the runtime knows only the exec
root); it is compiled once, under an flock so concurrent first starts do not race, and renamed into
place atomically. Without a compiler, with a compiler that fails (remembered in a `.failed` file beside
it, so the warning is logged once), or with COMPOSER_NATIVE_MONITOR=0, the Python loop stays in use.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

SOURCE = Path(__file__).with_name("monitor.c")
ENV = "COMPOSER_NATIVE_MONITOR"
CFLAGS = ["-O2", "-Wall", "-Wextra", "-Werror"]
# The argv[0] the binary runs under: runtime._kill_monitor checks a pid's cmdline for "engine.runtime".
ARGV0 = "engine.runtime.native-monitor"


def enabled() -> bool:
    return os.environ.get(ENV, "1") != "0"


def source_key() -> str:
    import hashlib  # here, not in the zygote: only a monitor about to exec needs it

    return hashlib.sha256(SOURCE.read_bytes() + " ".join(CFLAGS).encode()).hexdigest()[:16]


def binary(cache_dir: Path) -> Path | None:
    """The compiled monitor, building it if needed; None when it cannot be had (fallback: Python loop)."""
    if not enabled():
        return None
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


def _compile(cc: str, target: Path, failed: Path) -> Path | None:
    import subprocess
    import time

    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    began = time.monotonic()
    try:
        done = subprocess.run([cc, *CFLAGS, "-o", str(tmp), str(SOURCE)], capture_output=True, text=True,
                              timeout=120, check=False)
        error = "" if done.returncode == 0 else (done.stderr.strip().splitlines() or ["exit status"])[0]
    except (OSError, subprocess.TimeoutExpired) as e:
        error = str(e)
    if error:
        tmp.unlink(missing_ok=True)
        failed.write_text(error + "\n")
        log.warning("native monitor build failed, using the Python loop cc=%s err=%s", cc, error)
        return None
    os.rename(tmp, target)
    log.info("native monitor built path=%s secs=%.2f", target, time.monotonic() - began)
    return target
