"""Exec instances: create, start (bridged to the runtime's exec socket), inspect, resize."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.containers import detachkeys
from engine.containers.model import Container
from engine.errors import Conflict, EngineError, InvalidParameter, NotFound, ProcessStartFailed

if TYPE_CHECKING:
    from engine.containers.core import Core

log = logging.getLogger(__name__)


def exec_process(
    c: Container,
    cmd: list[str],
    *,
    env: list[str],
    user: str,
    workdir: str,
    tty: bool,
    privileged: bool = False,
) -> dict[str, Any]:
    """An OCI `process` for an exec: the container's environment plus the exec's own, its user and cwd."""
    from engine.runtime.oci import resolve_user

    root = Path(f"/proc/{c.state.pid}/root") if c.state.pid else Path("/nonexistent")
    u = resolve_user(root, user or c.config.get("User") or "")
    merged: dict[str, str] = {}
    for item in list(c.config.get("Env") or []) + list(env):
        key, sep, _ = item.partition("=")
        if sep:
            merged[key] = item
    if not any(k == "PATH" for k in merged):
        merged["PATH"] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    if not any(k == "HOSTNAME" for k in merged):
        merged["HOSTNAME"] = "HOSTNAME=" + (c.config.get("Hostname") or "")
    if tty and "TERM" not in merged:
        merged["TERM"] = "TERM=xterm"
    if "HOME" not in merged:
        merged["HOME"] = "HOME=" + (u.home or "/")
    process: dict[str, Any] = {
        "terminal": tty,
        "user": {"uid": u.uid, "gid": u.gid, "additionalGids": list(u.additional_gids)},
        "args": cmd,
        "env": list(merged.values()),
        "cwd": workdir or c.config.get("WorkingDir") or "/",
    }
    if privileged:  # every capability; otherwise the container's own set applies
        from engine.runtime.caps import tweak

        every = tweak(None, None, True)
        process["capabilities"] = {"bounding": every, "effective": every, "permitted": every}
    return process


@dataclass(frozen=True)
class ExecConfig:
    """An exec instance as `POST /containers/{id}/exec` created it."""

    id: str
    container_id: str
    cmd: tuple[str, ...]
    env: tuple[str, ...]
    user: str
    workdir: str
    tty: bool
    attach_stdin: bool
    attach_stdout: bool
    attach_stderr: bool
    privileged: bool
    detach_keys: str
    running: bool = False
    started: bool = False
    exit_code: int | None = None
    pid: int = 0


class ExecService:
    def __init__(self, service: Core) -> None:
        self._svc = service
        self._execs: dict[str, ExecConfig] = {}

    def create(self, ref: str, body: dict[str, Any]) -> str:
        c = self._svc.get(ref)
        if c.state.status == "paused":
            raise Conflict(f"Container {c.id} is paused, unpause the container before exec")
        if c.state.status not in ("running",):
            raise Conflict(f"container {c.id} is not running")
        cmd = body.get("Cmd")
        if isinstance(cmd, str):
            cmd = [cmd]
        if not cmd or not isinstance(cmd, list) or not all(isinstance(a, str) for a in cmd):
            raise InvalidParameter("No exec command specified")
        detachkeys.parse(body.get("DetachKeys") or "")  # refused here already, as dockerd does
        self._forget_removed()
        eid = secrets.token_hex(32)
        self._execs[eid] = ExecConfig(
            id=eid,
            container_id=c.id,
            cmd=tuple(cmd),
            env=tuple(body.get("Env") or ()),
            user=body.get("User") or "",
            workdir=body.get("WorkingDir") or "",
            tty=bool(body.get("Tty")),
            attach_stdin=bool(body.get("AttachStdin")),
            attach_stdout=bool(body.get("AttachStdout", True)),
            attach_stderr=bool(body.get("AttachStderr", True)),
            privileged=bool(body.get("Privileged")),
            detach_keys=body.get("DetachKeys") or "",
        )
        self._svc.store.update(c.id, lambda cur: dataclasses.replace(cur, exec_ids=cur.exec_ids + (eid,)))
        self._svc.event_publish(c, f"exec_create: {' '.join(cmd)}", execID=eid)
        return eid

    def get(self, eid: str) -> ExecConfig:
        e = self._execs.get(eid)
        if e is None:
            raise NotFound(f"No such exec instance: {eid}")
        return e

    def _refresh(self, e: ExecConfig) -> ExecConfig:
        if not e.running:
            return e
        c = self._svc.store.current(e.container_id)
        if c is None:
            return e
        try:
            st = self._svc.runtime(c).exec_state(c.id, e.id)
        except (EngineError, OSError):
            return e
        if st.status == "exited":
            e = dataclasses.replace(e, running=False, exit_code=st.exit_code, pid=st.pid)
            self._execs[e.id] = e
            self._svc.event_publish(c, "exec_die", execID=e.id, exitCode=str(st.exit_code))
        elif st.pid:
            e = dataclasses.replace(e, pid=st.pid)
            self._execs[e.id] = e
        return e

    async def start(self, eid: str, *, detach: bool) -> tuple[ExecConfig, Path]:
        """Start the process; returns its socket for the caller to bridge (unless detached)."""
        e = self.get(eid)
        if e.started:
            raise Conflict(f"exec {eid} has already started")
        c = self._svc.get(e.container_id)
        if c.state.status != "running":
            raise Conflict(f"container {c.id} is not running")
        e = dataclasses.replace(e, started=True, running=True)
        self._execs[eid] = e
        # dockerd's execs have the links' variables too (the container's own win)
        own = {item.partition("=")[0] for item in c.config.get("Env") or []}
        linked = await asyncio.to_thread(self._svc.host.linked_env, c)
        linked = [v for v in linked if v.partition("=")[0] not in own]
        process = await asyncio.to_thread(
            exec_process,
            c,
            list(e.cmd),
            env=linked + list(e.env),
            user=e.user,
            workdir=e.workdir,
            tty=e.tty,
            privileged=e.privileged,
        )
        rt = self._svc.runtime(c)
        # hold_output=False for a detached exec: nobody will collect its output, so its monitor ends
        # with the process instead of waiting 30 s for a client.
        options: dict[str, Any] = {
            "tty": e.tty,
            "open_stdin": e.attach_stdin and not detach,
            "hold_output": not detach,
        }
        try:
            path = await asyncio.to_thread(rt.exec, c.id, eid, process, **options)
        except ProcessStartFailed as err:
            self._execs[eid] = dataclasses.replace(e, running=False, exit_code=err.exit_code)
            raise
        except EngineError:
            self._execs[eid] = dataclasses.replace(e, running=False, exit_code=126)
            raise
        self._svc.event_publish(c, f"exec_start: {' '.join(e.cmd)}", execID=eid)
        if detach:
            asyncio.ensure_future(self.watch_exit(eid))
        return e, path

    def finished(self, eid: str) -> None:
        """The bridged stream ended: record the exit (and its event) now, or as soon as it is written."""
        e = self._execs.get(eid)
        if e is not None and self._refresh(e).running:
            asyncio.ensure_future(self.watch_exit(eid))

    async def watch_exit(self, eid: str) -> None:
        """Until the exec's process ended, then its exit code and exec_die. Execs have no exit fd in the
        runtime's contract, so this looks at their status with a growing interval (20 ms up to 1 s)."""
        delay = 0.02
        while True:
            e = self._execs.get(eid)
            if e is None or not self._refresh(e).running:
                return
            c = self._svc.store.current(e.container_id)
            if c is None or c.state.status not in ("running", "paused"):
                return  # the container ended; its exec went with it
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)

    def inspect(self, eid: str) -> dict[str, Any]:
        e = self._refresh(self.get(eid))
        return {
            "ID": e.id,
            "Running": e.running,
            "ExitCode": e.exit_code,
            "ProcessConfig": {
                "tty": e.tty,
                "entrypoint": e.cmd[0],
                "arguments": list(e.cmd[1:]),
                "privileged": e.privileged,
                **({"user": e.user} if e.user else {}),
            },
            "OpenStdin": e.attach_stdin,
            "OpenStderr": e.attach_stderr,
            "OpenStdout": e.attach_stdout,
            "CanRemove": False,
            "ContainerID": e.container_id,
            "DetachKeys": e.detach_keys,
            "Pid": e.pid,
        }

    async def resize(self, eid: str, height: int, width: int) -> None:
        e = self.get(eid)
        c = self._svc.get(e.container_id)
        await asyncio.to_thread(self._svc.runtime(c).exec_resize, c.id, eid, height, width)

    def _forget_removed(self) -> None:
        """Exec records live as long as their container (as in dockerd)."""
        for eid in [k for k, v in self._execs.items() if self._svc.store.current(v.container_id) is None]:
            del self._execs[eid]
