"""The daemon's handle on containers: writes bundles, starts monitors, reads their records.

Safe to call from the daemon's threads: it never forks the daemon itself. Monitors come from a warm
zygote process (see zygote.py) or, if that is unavailable, from a fresh interpreter; each becomes the
native monitor once its process runs (native/), which every start first makes sure of: found, or built.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from engine.errors import Conflict, InvalidParameter, NotFound, ProcessStartFailed, SystemError_
from engine.runtime import native
from engine.runtime import stats as stats_mod
from engine.runtime.cgroups import Cgroup
from engine.runtime.logfile import parse_size
from engine.runtime.state import Places, ProcessState, pid_alive, read_status
from engine.util.trash import Trash

log = logging.getLogger(__name__)


class Runtime:
    use_zygote = True  # False: one fresh interpreter per monitor (slower; the fallback when the zygote fails)

    def __init__(
        self, exec_root: Path, binary: str | None = None, monitor: native.Program | None = None
    ) -> None:
        """`monitor`: the program each monitor becomes once its process runs; by default the native monitor,
        built into <exec-root>/native when the package carries none (tests pass the Python oracle)."""
        self.root = Path(exec_root) / "runtime"
        self._monitors = native.monitors(Path(exec_root) / "native")
        self._monitor = monitor
        self.runc_root = Path(exec_root) / "runc"
        self.binary: str | None = None
        if binary:
            found = shutil.which(binary)
            if found is None:
                raise InvalidParameter(f"runtime binary {binary!r} not found in PATH")
            self.binary = found
        self._lock = threading.Lock()
        self._zygote: subprocess.Popen[bytes] | None = None
        self._zsock: socket.socket | None = None
        # an ended container's bundle dir (spec, monitor options, status, logs of the monitor): renamed away
        # at its exit, deleted by a background thread; the exit path of every stop waited for its unlinks
        self._trash = Trash(self.root / ".trash")
        self._cgroup_paths: dict[str, str] = {}  # cid -> the spec's cgroupsPath (read once, not per call)

    # --- spawning monitors ---
    def _program(self) -> dict[str, Any]:
        """The monitor program for the next start (waits for its build, once per exec root)."""
        if self._monitor is not None:
            return self._monitor.as_json()
        try:
            return self._monitors.program().as_json()
        except native.Unavailable as e:
            raise SystemError_(str(e)) from None

    def _start_zygote(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        # -S: no site import (.pth hooks, certifi...), ~5 MiB less in the zygote and so in every monitor;
        # the path it would have built is passed instead, with the engine's own root first.
        paths = [str(Path(__file__).resolve().parents[2]), *(p for p in sys.path if p)]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
        self._zygote = subprocess.Popen(
            [sys.executable, "-S", "-m", "engine.runtime.zygote", str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=env,
        )
        theirs.close()
        self._zsock = ours

    def _send_to_zygote(self, places: Places, sync_w: int) -> bool:
        with self._lock:
            for _attempt in range(2):
                try:
                    if self._zsock is None:
                        self._start_zygote()
                    assert self._zsock is not None
                    request = json.dumps({"dir": str(places.dir), "eid": places.eid}).encode()
                    socket.send_fds(self._zsock, [request], [sync_w])
                    return True
                except OSError as e:
                    log.warning("zygote unavailable, restarting err=%s", e)
                    self._stop_zygote()
        return False

    def _spawn(self, places: Places) -> dict[str, Any]:
        """Start a monitor for `places` and wait for its one answer on the sync pipe."""
        r, w = os.pipe2(os.O_CLOEXEC)
        try:
            if not (self.use_zygote and self._send_to_zygote(places, w)):
                argv = [sys.executable, "-m", "engine.runtime.monitor", str(places.dir), str(w)]
                proc = subprocess.Popen([*argv, *([places.eid] if places.eid else [])], pass_fds=[w],
                                        stdin=subprocess.DEVNULL, start_new_session=True)
                proc.wait()  # it forks the monitor and exits at once
            os.close(w)
            w = -1
            data = b""
            while chunk := os.read(r, 65536):
                data += chunk
        finally:
            os.close(r)
            if w >= 0:
                os.close(w)
        if not data:
            raise SystemError_(f"monitor for {places.dir.name} died before starting; see {places.errlog}")
        return dict(json.loads(data))

    def _stop_zygote(self) -> None:
        if self._zsock is not None:
            self._zsock.close()
            self._zsock = None
        if self._zygote is not None:
            try:
                self._zygote.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._zygote.kill()
                self._zygote.wait()
            self._zygote = None

    def warm(self) -> None:
        """Start the zygote now (the daemon calls this at boot) instead of on the first start()."""
        if self.use_zygote:
            with self._lock:
                if self._zsock is None:
                    self._start_zygote()

    def close(self) -> None:
        """Stop the zygote (containers and their monitors keep running)."""
        with self._lock:
            self._stop_zygote()

    # --- containers ---
    def _places(self, cid: str, eid: str = "") -> Places:
        return Places(self.root / cid, eid)

    def start(
        self,
        cid: str,
        spec: dict[str, Any],
        *,
        log_path: Path | None,
        log_opts: dict[str, Any],
        tty: bool,
        open_stdin: bool,
        hold_output: bool = False,
    ) -> ProcessState:
        _check_log_opts(log_opts or {})
        program = self._program()
        places = self._places(cid)
        if places.dir.exists():
            if self._live(places):
                raise Conflict(f"container {cid} is already running")
            self._cleanup(cid, places)
        places.dir.mkdir(parents=True, mode=0o700)  # config.json holds the env (secrets)
        self._cgroup_paths.pop(cid, None)
        spec = {**spec, "process": {**spec["process"], "terminal": bool(tty)}}  # one truth: the monitor's pty
        _write_bundle_file(places.config, spec)
        _write_bundle_file(
            places.options,
            {
                "mode": "container",
                "id": cid,
                "log_path": str(log_path) if log_path else None,
                "log_opts": dict(log_opts or {}),
                "tty": tty,
                "open_stdin": open_stdin,
                "hold": hold_output,
                "binary": self.binary,
                "runc_root": str(self.runc_root),
                "monitor": program,
            },
        )
        answer = self._spawn(places)
        if "error" in answer:
            raise _start_error(answer, "create")
        return self.state(cid)

    def _live(self, places: Places) -> bool:
        data = read_status(places)
        return bool(data and data.get("status") == "running" and pid_alive(int(data.get("monitor_pid") or 0)))

    def _cleanup(self, cid: str, places: Places) -> None:
        # An exited container's monitor may still be waiting for its attach client: it is done.
        _kill_monitor(int((read_status(places) or {}).get("monitor_pid") or 0))
        spec_path = places.config
        try:
            spec = json.loads(spec_path.read_text())
            Cgroup((spec.get("linux") or {}).get("cgroupsPath") or "").destroy() if spec.get(
                "linux"
            ) else None
        except (OSError, ValueError):
            pass
        # Exec monitors waiting for a client that will never come: their container is gone.
        for pidfile in places.dir.glob("exec-*.monitor.pid"):
            _kill_monitor(int(pidfile.read_text() or 0))
            Places(places.dir, pidfile.name[len("exec-"):-len(".monitor.pid")]).socket.unlink(missing_ok=True)
        places.socket.unlink(missing_ok=True)
        if self.binary:
            self._runc("delete", "--force", cid)
        self._cgroup_paths.pop(cid, None)
        self._trash.discard(places.dir)

    def state(self, cid: str) -> ProcessState:
        return self._state(self._places(cid), cid)

    def _state(self, places: Places, cid: str) -> ProcessState:
        data = read_status(places)
        if data is None:
            raise NotFound(f"No such container: {cid}")
        state = ProcessState.from_json(data)
        if state.status == "running":
            monitor_alive = pid_alive(int(data.get("monitor_pid") or 0))
            if not monitor_alive and not pid_alive(state.pid):
                # The monitor died with its process unrecorded (host reboot, kill -9 of both).
                state.status, state.exit_code = "exited", 255
                state.error = "container monitor exited unexpectedly"
            elif not places.eid and self._cgroup(cid).is_frozen():
                state.status = "paused"
        return state

    def exit_fd(self, cid: str) -> int:
        """A pidfd of the monitor (readable once the container ended and its status is recorded)."""
        data = read_status(self._places(cid)) or {}
        for key in ("monitor_pid", "pid"):
            # A monitor killed on its own leaves its container running: then wait on the container itself.
            pid = int(data.get(key) or 0)
            if pid_alive(pid) and (key == "monitor_pid" or data.get("status") == "running"):
                try:
                    return os.pidfd_open(pid)
                except OSError:
                    continue
        return os.eventfd(1)  # already gone: readable at once

    def _running(self, cid: str) -> ProcessState:
        state = self.state(cid)
        if state.status not in ("running", "paused"):
            raise Conflict(f"Container {cid} is not running")
        return state

    def _runc(self, *args: str) -> subprocess.CompletedProcess[str]:
        assert self.binary is not None
        argv = [self.binary, "--root", str(self.runc_root), *args]
        return subprocess.run(argv, capture_output=True, text=True, check=False)

    def kill(self, cid: str, sig: int) -> None:
        state = self._running(cid)
        if self.binary:
            done = self._runc("kill", cid, str(int(sig)))
            if done.returncode != 0:
                raise Conflict(f"Container {cid} is not running: {done.stderr.strip()}")
        else:
            try:
                os.kill(state.pid, sig)
            except ProcessLookupError as e:
                raise Conflict(f"Container {cid} is not running") from e
        if state.status == "paused" and sig == signal.SIGKILL:
            self._cgroup(cid).freeze(False)  # a frozen task only dies once thawed (as Docker does on kill)

    def _cgroup(self, cid: str) -> Cgroup:
        path = self._cgroup_paths.get(cid)
        if path is None:
            try:
                spec = json.loads(self._places(cid).config.read_text())
            except (OSError, ValueError) as e:
                raise NotFound(f"No such container: {cid}") from e
            path = (spec.get("linux") or {}).get("cgroupsPath") or f"/composer/{cid}"
            self._cgroup_paths[cid] = path
        return Cgroup(path)

    def pause(self, cid: str) -> None:
        state = self._running(cid)
        if state.status == "paused":
            raise Conflict(f"Container {cid} is already paused")
        if self.binary:
            self._runc_checked("pause", cid)
        else:
            self._cgroup(cid).freeze(True)

    def resume(self, cid: str) -> None:
        state = self._running(cid)
        if state.status != "paused":
            raise Conflict(f"Container {cid} is not paused")
        if self.binary:
            self._runc_checked("resume", cid)
        else:
            self._cgroup(cid).freeze(False)

    def _runc_checked(self, *args: str) -> None:
        done = self._runc(*args)
        if done.returncode != 0:
            raise SystemError_(f"runc {args[0]} failed: {done.stderr.strip()}")

    def _resize(self, places: Places, height: int, width: int) -> None:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(5)
            try:
                sock.connect(str(places.socket))
                sock.sendall(json.dumps({"resize": [int(height), int(width)]}).encode() + b"\n")
                sock.recv(64)
            except OSError as e:
                raise Conflict(f"cannot resize: process is not running ({e.strerror})") from e

    def resize(self, cid: str, height: int, width: int) -> None:
        self._resize(self._places(cid), height, width)

    def attach_path(self, cid: str) -> Path:
        return self._places(cid).socket

    def update(self, cid: str, resources: dict[str, Any]) -> None:
        """`docker update`: new OCI linux.resources (as build_spec makes them) for a running container.
        Only the keys given change; config.json records the result so a restart keeps it."""
        self._running(cid)
        places = self._places(cid)
        spec = json.loads(places.config.read_text())
        current = (spec.setdefault("linux", {})).setdefault("resources", {})
        for key, value in resources.items():
            current[key] = {**(current.get(key) or {}), **value} if isinstance(value, dict) else value
        try:
            self._cgroup(cid).apply({k: v for k, v in resources.items() if k != "devices"})
        except OSError as e:
            raise InvalidParameter(f"Cannot update container {cid}: {e.strerror or e}") from e
        _write_bundle_file(places.config, spec)

    def stats(self, cid: str) -> dict[str, Any]:
        return stats_mod.sample(self._cgroup(cid))

    def top(self, cid: str) -> list[int]:
        return self._cgroup(cid).pids()

    def delete(self, cid: str) -> None:
        places = self._places(cid)
        if not places.dir.exists():
            return
        if self._live(places):
            raise Conflict(f"cannot delete container {cid}: it is running")
        self._cleanup(cid, places)

    # --- exec ---
    def exec(self, cid: str, eid: str, process: dict[str, Any], *, tty: bool, open_stdin: bool,
             hold_output: bool = True) -> Path:
        """Start an exec; its monitor keeps the output for the first client and waits for it (up to
        native.h's EXEC_WAIT_MS) after the exit, unless `hold_output` is False (detached: nobody comes)."""
        program = self._program()
        state = self._running(cid)
        if state.status == "paused":
            raise Conflict(f"Container {cid} is paused, unpause the container before exec")
        places = self._places(cid, eid)
        base = json.loads(places.config.read_text())["process"]
        full = {**base, "terminal": tty, **process}
        full.setdefault("args", base["args"])
        full["terminal"] = tty
        _write_bundle_file(
            places.options,
            {
                "mode": "exec",
                "id": cid,
                "eid": eid,
                "target_pid": state.pid,
                "process": full,
                "tty": tty,
                "open_stdin": open_stdin,
                "hold": hold_output,
                "monitor": program,
            },
        )
        answer = self._spawn(places)
        if "error" in answer:
            raise _start_error(answer, "exec")
        return places.socket

    def exec_state(self, cid: str, eid: str) -> ProcessState:
        return self._state(self._places(cid, eid), f"{cid} exec {eid}")

    def exec_resize(self, cid: str, eid: str, height: int, width: int) -> None:
        self._resize(self._places(cid, eid), height, width)

    def exec_delete(self, cid: str, eid: str) -> None:
        """Forget an exec: its files and socket go (healthchecks exec every few seconds for the container's
        whole life). One still running (a timed-out probe) is killed first, as Docker kills it. Deleting
        what is already gone is success."""
        places = self._places(cid, eid)
        data = read_status(places) or {}
        try:
            monitor_pid = int(places.pidfile.read_text() or 0)
        except (OSError, ValueError):
            monitor_pid = int(data.get("monitor_pid") or 0)
        _kill_monitor(monitor_pid)  # first: a live monitor would record the exit after we removed its files
        if data.get("status") == "running" and pid_alive(int(data.get("pid") or 0)):
            with contextlib.suppress(OSError):
                os.kill(int(data["pid"]), signal.SIGKILL)
        places.socket.unlink(missing_ok=True)
        for path in (places.options, places.status, places.pidfile, places.errlog):
            path.unlink(missing_ok=True)


def _start_error(answer: dict[str, Any], what: str) -> Exception:
    code, message = int(answer.get("code") or 128), str(answer.get("error"))
    if what == "exec":
        text = f"OCI runtime exec failed: exec failed: unable to start container process: {message}: unknown"
    else:
        text = (
            f"failed to create task for container: OCI runtime create failed: "
            f"unable to start container process: {message}: unknown"
        )
    return ProcessStartFailed(text, code) if code in (126, 127) else SystemError_(text)


def _kill_monitor(pid: int) -> None:
    """SIGKILL a monitor of ours, checking its command line first (the pid may have been reused)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            if b"engine.runtime" not in f.read():
                return
        os.kill(pid, signal.SIGKILL)
    except (OSError, ValueError):
        pass


def _check_log_opts(opts: dict[str, Any]) -> None:
    try:
        parse_size(opts.get("max-size"))
        if int(opts.get("max-file") or 1) < 1:
            raise ValueError
    except ValueError:
        raise InvalidParameter(f"invalid json-file log options: {opts}") from None


def _write_bundle_file(path: Path, obj: Any) -> None:
    """Bundle inputs (config.json, monitor options) are written before the monitor exists and read once by
    it: no reader can see them torn, and a crash here fails the start anyway, so no fsync on the start path.
    status.json, which a restarted daemon trusts, is written atomically by the monitor."""
    with open(path, "w") as f:
        # dumps, not dump: json.dump encodes in pure Python, chunk by chunk (~4x the CPU for a spec)
        f.write(json.dumps(obj, separators=(",", ":")))
