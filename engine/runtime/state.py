"""The record a monitor keeps of its process (status.json), and the places under <exec-root>/runtime/<id>/."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

from engine._typecheck import TYPE_CHECKING
from engine.util.atomic import Sync, atomic_write_json, read_json

if TYPE_CHECKING:
    from typing import Any


@dataclass
class ProcessState:
    """A container process as the runtime sees it: its status, pid and exit code."""

    status: str  # "created" | "running" | "paused" | "exited"
    pid: int
    exit_code: int | None
    oom_killed: bool
    started_at: str
    finished_at: str | None
    error: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ProcessState:
        return cls(
            status=data.get("status", "created"),
            pid=int(data.get("pid") or 0),
            exit_code=data.get("exit_code"),
            oom_killed=bool(data.get("oom_killed")),
            started_at=data.get("started_at") or "",
            finished_at=data.get("finished_at"),
            error=data.get("error") or "",
        )


@dataclass(frozen=True)
class Places:
    """Files of one container (or one exec of it, when `eid` is set) in its runtime dir."""

    dir: Path
    eid: str = ""

    @property
    def prefix(self) -> str:
        return f"exec-{self.eid}." if self.eid else ""

    @property
    def config(self) -> Path:
        return self.dir / "config.json"

    @property
    def options(self) -> Path:
        return self.dir / f"{self.prefix}monitor.json"

    @property
    def status(self) -> Path:
        return self.dir / f"{self.prefix}status.json"

    @property
    def socket(self) -> Path:
        """<runtime-root>/s/<cid[:12]>[-<eid[:12]>].sock: unix socket paths are limited to 107 bytes, too
        few for <exec-root>/runtime/<64-hex id>/<anything with an exec id>."""
        name = self.dir.name[:12] + (f"-{self.eid[:12]}" if self.eid else "")
        return self.dir.parent / "s" / f"{name}.sock"

    @property
    def pidfile(self) -> Path:
        return self.dir / f"{self.prefix}monitor.pid"

    @property
    def errlog(self) -> Path:
        return self.dir / f"{self.prefix}monitor.log"


def write_status(places: Places, state: ProcessState, **extra: Any) -> None:
    # the exec root: tmpfs in production, emptied by a reboot; only the daemon's death must not tear it
    atomic_write_json(places.status, {**state.to_json(), **extra}, sync=Sync.NONE)


def read_status(places: Places) -> dict[str, Any] | None:
    try:
        data = read_json(places.status)
    except (FileNotFoundError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); it is not alive for us.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False
