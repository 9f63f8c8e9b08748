"""The embedded engine: where it lives, starting/stopping it, and seeding `busybox:latest` offline.

Places are the engine's defaults (socket /run/composer/engine.sock, state /var/lib/composer). Setting
COMPOSER_ENGINE_ROOT=<dir> moves all of them under one directory (<dir>/e.sock, <dir>/data, <dir>/exec),
which is how tests run a private "embedded" engine.
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from composer._log import get_logger
from composer.errors import ComposerError

log = get_logger(__name__)

START_TIMEOUT = 30.0
SEED_IMAGE = "busybox:latest"


@dataclass(frozen=True)
class EmbeddedPlaces:
    socket: Path
    data_root: Path
    exec_root: Path

    @property
    def host(self) -> str:
        return f"unix://{self.socket}"

    @property
    def log_path(self) -> Path:
        return self.exec_root / "engine.log"

    @property
    def pid_path(self) -> Path:
        return self.exec_root / "engine.pid"


def places(environ: Mapping[str, str] | None = None) -> EmbeddedPlaces:
    env = os.environ if environ is None else environ
    root = env.get("COMPOSER_ENGINE_ROOT")
    if root:
        base = Path(root)
        return EmbeddedPlaces(base / "e.sock", base / "data", base / "exec")
    return EmbeddedPlaces(Path("/run/composer/engine.sock"), Path("/var/lib/composer"), Path("/run/composer"))


def running_pid(where: EmbeddedPlaces) -> int | None:
    """The daemon's pid from its pid file, when that process is alive."""
    try:
        pid = int(where.pid_path.read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def start_embedded_engine(*, announce: bool, environ: Mapping[str, str] | None = None) -> EmbeddedPlaces:
    """Start `composer-engine` detached on the embedded places, wait until it answers, seed busybox."""
    from composer.client import ping
    from composer.presenter import error_line

    where = places(environ)
    env = dict(os.environ if environ is None else environ)
    if ping(where.host, env):
        return where
    if os.geteuid() != 0:
        raise ComposerError(  # in the words of the engine's own preflight (engine/preflight.py)
            f"no engine answers at {where.host}; cannot run containers: the engine needs root "
            "(namespaces, mounts, cgroups, bridges)",
            hint="run it as root, e.g. `sudo composer engine start`, or point -H/DOCKER_HOST/--context "
            "at a running engine",
        )
    where.exec_root.mkdir(parents=True, exist_ok=True)
    log_start = where.log_path.stat().st_size if where.log_path.exists() else 0
    argv = [
        sys.executable,
        "-m",
        "engine.daemon",
        "-H",
        where.host,
        "--data-root",
        str(where.data_root),
        "--exec-root",
        str(where.exec_root),
    ]
    with open(where.log_path, "ab") as out:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True
        )
    deadline = time.monotonic() + START_TIMEOUT
    while not ping(where.host, env, timeout=1):
        if proc.poll() is not None:
            said = _engine_said(where.log_path, log_start)
            if said:  # the daemon's own one-line reasons (e.g. what this host lacks, with the fix)
                raise ComposerError("; ".join(said), hint=f"log: {where.log_path}")
            raise ComposerError(
                f"the embedded engine exited with status {proc.returncode}", hint=f"see {where.log_path}"
            )
        if time.monotonic() > deadline:
            raise ComposerError(
                f"the embedded engine did not answer within {START_TIMEOUT:.0f}s",
                hint=f"see {where.log_path}",
            )
        time.sleep(0.05)
    if announce:
        error_line(f"Started the embedded engine at {where.host} (log: {where.log_path})")
    seed_busybox(where.host, env)
    return where


def _engine_said(log_path: Path, offset: int) -> list[str]:
    """The `composer-engine: ...` lines the daemon wrote to its log since `offset` (its exit reasons)."""
    try:
        with log_path.open("rb") as f:
            f.seek(offset)
            text = f.read().decode(errors="replace")
    except OSError:
        return []
    prefix = "composer-engine: "
    return [line[len(prefix):] for line in text.splitlines() if line.startswith(prefix)]


def stop_embedded_engine(environ: Mapping[str, str] | None = None, timeout: float = 20.0) -> bool:
    """SIGTERM the daemon and wait for it to exit (its containers keep running); False if none ran."""
    where = places(environ)
    pid = running_pid(where)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except OSError:
            return True
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    return True


def seed_busybox(host: str, environ: Mapping[str, str]) -> bool:
    """Import Debian's busybox-static as `busybox:latest` when the engine lacks it (no registry needed).
    Returns True when it imported."""
    from composer.client import engine_errors, is_not_found, make_api

    busybox = shutil.which("busybox")
    api = make_api(host, environ)
    try:
        try:
            api.inspect_image(SEED_IMAGE)
            return False
        except Exception as exc:
            if not is_not_found(exc):
                raise
        if busybox is None:
            log.info("no busybox binary to seed image=%s", SEED_IMAGE)
            return False
        with engine_errors(f"importing {SEED_IMAGE} from {busybox}"):
            api.import_image_from_data(busybox_rootfs_tar(Path(busybox)), repository="busybox", tag="latest")
        return True
    finally:
        api.close()


def busybox_rootfs_tar(busybox: Path) -> bytes:
    """A minimal rootfs: the static busybox, a link per applet, /etc/passwd and /etc/group."""
    names = subprocess.run([str(busybox), "--list-full"], check=True, capture_output=True, text=True).stdout
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for d in (
            "bin",
            "sbin",
            "usr",
            "usr/bin",
            "usr/sbin",
            "etc",
            "root",
            "proc",
            "sys",
            "dev",
            "var",
            "var/www",
            "home",
        ):
            _add(tar, d, tarfile.DIRTYPE, mode=0o755)
        _add(tar, "tmp", tarfile.DIRTYPE, mode=0o1777)
        _add(tar, "bin/busybox", tarfile.REGTYPE, data=busybox.read_bytes(), mode=0o755)
        for name in names.split():
            if name != "bin/busybox":
                _add(tar, name, tarfile.SYMTYPE, link="/bin/busybox")
        _add(
            tar,
            "etc/passwd",
            tarfile.REGTYPE,
            data=b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
        )
        _add(tar, "etc/group", tarfile.REGTYPE, data=b"root:x:0:\nnogroup:x:65534:\n")
    return buf.getvalue()


def _add(
    tar: tarfile.TarFile, name: str, kind: bytes, *, data: bytes = b"", mode: int = 0o644, link: str = ""
) -> None:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.linkname = link
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
