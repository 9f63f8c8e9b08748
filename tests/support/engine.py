"""A private `composer-engine` for tests: temp data-root, exec-root and socket, busybox imported, everything
cleaned up afterwards (containers, monitors, mounts, cgroups, dirs) even when the test failed.

    with running_engine() as eng:              # or the `engine` fixture in tests/integration/api/conftest.py
        eng.request("GET", "/_ping").status    # plain HTTP over the unix socket -> Response
        eng.json("POST", "/containers/create", {"Image": "busybox", "Cmd": ["true"]})
        eng.docker_host                        # "unix:///tmp/ce-xxxx/e.sock" for docker CLI / docker-py

`EngineProcess` can also be stopped, killed with -9 and started again on the same state (`.stop()`,
`.kill9()`, `.start()`), which the recovery tests use.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support import busybox

START_TIMEOUT = 60.0  # a loaded 2-core CI machine can take long to bring a daemon up
BUSYBOX_TAG = "busybox:latest"


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float = 60.0) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self._path)


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def message(self) -> str:
        """The `message` of a Docker JSON error (empty when there is none)."""
        try:
            return str(self.json().get("message", ""))
        except (ValueError, AttributeError):
            return ""


@dataclass
class EngineProcess:
    base: Path  # everything lives under here (short, so the socket path stays under 107 bytes)
    extra_args: tuple[str, ...] = ()
    proc: subprocess.Popen[bytes] | None = None
    command: tuple[str, ...] = ()  # the daemon to run; () is this checkout's (python -m engine.daemon)
    run_host_config: dict[str, Any] = field(default_factory=dict)
    log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log_path = self.base / "engine.log"

    @property
    def socket_path(self) -> Path:
        return self.base / "e.sock"

    @property
    def data_root(self) -> Path:
        return self.base / "data"

    @property
    def exec_root(self) -> Path:
        return self.base / "exec"

    @property
    def docker_host(self) -> str:
        return f"unix://{self.socket_path}"

    # ---- lifecycle ----
    def start(self) -> None:
        argv = [
            *(self.command or (sys.executable, "-m", "engine.daemon")),
            "-H",
            self.docker_host,
            "--data-root",
            str(self.data_root),
            "--exec-root",
            str(self.exec_root),
            *self.extra_args,
        ]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                argv, stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"engine exited with {self.proc.returncode}:\n{self.log()}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                if self.request("GET", "/_ping", timeout=2).status == 200:
                    return
            time.sleep(0.05)
        raise RuntimeError(f"engine did not answer /_ping in {START_TIMEOUT}s:\n{self.log()}")

    def stop(self, timeout: float = 60.0) -> int | None:
        """SIGTERM and wait; containers keep running."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def kill9(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-8000:]
        except OSError:
            return ""

    # ---- HTTP ----
    def request(
        self,
        method: str,
        path: str,
        body: bytes | str | dict[str, Any] | list[Any] | None = None,
        *,
        headers: dict[str, str] | None = None,
        timeout: float = 60.0,
    ) -> Response:
        conn = UnixHTTPConnection(str(self.socket_path), timeout=timeout)
        try:
            hdrs = dict(headers or {})
            data: bytes | None
            if isinstance(body, (dict, list)):
                data = json.dumps(body).encode()
                hdrs.setdefault("Content-Type", "application/json")
            elif isinstance(body, str):
                data = body.encode()
            else:
                data = body
            conn.request(method, path, body=data, headers=hdrs)
            resp = conn.getresponse()
            return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
        finally:
            conn.close()

    def json(
        self, method: str, path: str, body: Any = None, *, expect: int | tuple[int, ...] = (200, 201)
    ) -> Any:
        """Request and decode JSON; an unexpected status raises AssertionError with the engine's message."""
        r = self.request(method, path, body)
        allowed = (expect,) if isinstance(expect, int) else expect
        assert r.status in allowed, f"{method} {path} -> {r.status}: {r.body[:500]!r}"
        return r.json() if r.body.strip() else None

    def begin_wait(self, cid: str, condition: str = "", timeout: float = 60.0) -> Callable[[], Any]:
        """POST /containers/{cid}/wait and return once the wait is registered (the engine sends the
        headers only then, as `docker run` relies on); call the result to read the decoded answer."""
        conn = UnixHTTPConnection(str(self.socket_path), timeout=timeout)
        conn.request("POST", f"/containers/{cid}/wait?condition={condition}")
        resp = conn.getresponse()
        if resp.status != 200:
            body = resp.read()
            conn.close()
            raise AssertionError(f"wait {cid} -> {resp.status}: {body[:500]!r}")

        def answer() -> Any:
            try:
                return json.loads(resp.read())
            finally:
                conn.close()

        return answer

    def import_busybox(self, tag: str = BUSYBOX_TAG) -> str:
        """Import the busybox rootfs as `tag`; returns the image id."""
        repo, _, t = tag.partition(":")
        r = self.request(
            "POST",
            f"/images/create?fromSrc=-&repo={repo}&tag={t or 'latest'}",
            busybox.rootfs_tar_bytes(),
            headers={"Content-Type": "application/x-tar"},
            timeout=120,
        )
        assert r.status == 200, f"import failed: {r.status} {r.body[:300]!r}"
        return str(self.json("GET", f"/images/{tag}/json")["Id"])

    def run(self, cmd: list[str], **config: Any) -> str:
        """Create and start a busybox container; returns its id. `run_host_config` fills HostConfig keys
        the call leaves out (e.g. {"NetworkMode": "none"} for suites that need no network)."""
        host_config = {**self.run_host_config, **(config.pop("HostConfig", None) or {})}
        body = {"Image": BUSYBOX_TAG, "Cmd": cmd, **config, "HostConfig": host_config}
        cid = str(self.json("POST", "/containers/create", body)["Id"])
        self.json("POST", f"/containers/{cid}/start", expect=204)
        return cid

    # ---- cleanup ----
    def remove_all_containers(self) -> None:
        with contextlib.suppress(OSError, http.client.HTTPException, ValueError, AssertionError):
            for c in self.json("GET", "/containers/json?all=1"):
                with contextlib.suppress(OSError, http.client.HTTPException):
                    self.request("DELETE", f"/containers/{c['Id']}?force=1&v=1", timeout=30)

    def cleanup(self) -> None:
        """Remove everything the engine made, whatever state it is in."""
        containers = self.data_root / "containers"
        ids = {p.name for p in containers.iterdir()} if containers.is_dir() else set()
        if self.proc is not None and self.proc.poll() is None:
            self.remove_all_containers()
        self.stop()
        _kill_leftovers(self.exec_root)
        _sweep_network(self.data_root, self.exec_root)
        _unmount_under(self.base)
        _remove_cgroups(ids)
        shutil.rmtree(self.base, ignore_errors=True)


def _kill_leftovers(exec_root: Path) -> None:
    """Monitors and container processes still recorded under <exec-root>/runtime."""
    runtime = exec_root / "runtime"
    if not runtime.is_dir():
        return
    for status in runtime.glob("*/*status.json"):
        with contextlib.suppress(OSError, ValueError):
            data = json.loads(status.read_text())
            for key in ("pid", "monitor_pid"):
                pid = int(data.get(key) or 0)
                if pid > 1:
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.kill(pid, signal.SIGKILL)
    time.sleep(0.1)


def _sweep_network(data_root: Path, exec_root: Path) -> None:
    """Bridges, veths, namespaces and the nft table of the engine (engine.network), which outlive a
    stopped daemon as dockerd's do."""
    try:
        from engine.network.service import sweep

        sweep(data_root, exec_root)
    except Exception as e:  # cleanup goes on; the leak is reported, not hidden
        print(f"network sweep failed: {e}", file=sys.stderr)


def _unmount_under(base: Path) -> None:
    prefix = str(base.resolve())
    targets = []
    with contextlib.suppress(OSError), open("/proc/self/mountinfo") as f:
        for line in f:
            mountpoint = line.split()[4].replace("\\040", " ")
            if mountpoint == prefix or mountpoint.startswith(prefix + "/"):
                targets.append(mountpoint)
    for target in sorted(targets, key=len, reverse=True):
        subprocess.run(["umount", "-l", target], capture_output=True)


def _remove_cgroups(ids: set[str]) -> None:
    """cgroups named after this engine's containers, in every v1 hierarchy and in cgroup2."""
    for cg in Path("/sys/fs/cgroup").glob("*/composer/*"):
        if cg.name in ids:
            with contextlib.suppress(OSError):
                cg.rmdir()
    for cg in Path("/sys/fs/cgroup").glob("composer/*"):
        if cg.name in ids:
            with contextlib.suppress(OSError):
                cg.rmdir()


OWNER_FILE = "owner.pid"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_orphans() -> None:
    """Clean up engines left by test processes that were killed before their cleanup ran (kill -9, a
    timeout): each base dir records its owner's pid, and only dead owners' dirs are touched."""
    for base in Path("/tmp").glob("ce-*"):
        try:
            owner = int((base / OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue
        if _pid_alive(owner):
            continue
        eng = EngineProcess(base)
        with contextlib.suppress(OSError, ValueError):
            pid = int((eng.exec_root / "engine.pid").read_text())
            if _pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
        eng.cleanup()


def new_engine(*, extra_args: tuple[str, ...] = ()) -> EngineProcess:
    sweep_orphans()
    base = Path(tempfile.mkdtemp(prefix="ce-", dir="/tmp"))
    (base / OWNER_FILE).write_text(str(os.getpid()))
    return EngineProcess(base, extra_args)


@contextlib.contextmanager
def running_engine(
    *, busybox_image: bool = True, extra_args: tuple[str, ...] = (), command: tuple[str, ...] = ()
) -> Iterator[EngineProcess]:
    """Start a private engine (with busybox:latest imported unless told not to); always clean up.
    `command`: the daemon to run (an installed `composer-engine`); () runs this checkout's."""
    eng = new_engine(extra_args=extra_args)
    eng.command = command
    try:
        eng.start()
        if busybox_image:
            eng.import_busybox()
        yield eng
    finally:
        eng.cleanup()
