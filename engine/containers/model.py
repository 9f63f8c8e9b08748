"""Container records: what the engine remembers about a container, persisted as JSON.

A record is immutable; every change makes a new one (`dataclasses.replace`) that the store writes
atomically, so a daemon killed at any moment finds either the old or the new record.
"""

from __future__ import annotations

import dataclasses
import datetime
from dataclasses import dataclass, field
from typing import Any

ZERO_TIME = "0001-01-01T00:00:00Z"


def now_rfc3339() -> str:
    """RFC 3339 with nanosecond precision, as Docker writes times."""
    t = datetime.datetime.now(datetime.UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond:06d}000Z"


def parse_rfc3339(value: str) -> float:
    """Seconds since the epoch; 0 for the zero time or garbage."""
    if not value or value.startswith("0001-"):
        return 0.0
    main, _, rest = value.partition(".")
    frac = ""
    if rest:
        digits = len(rest) - len(rest.lstrip("0123456789"))
        frac, rest = rest[:digits], rest[digits:]
    else:
        main, rest = value[:19], value[19:]
    tz = rest.replace("Z", "+00:00") or "+00:00"
    try:
        dt = datetime.datetime.fromisoformat(main + tz)
    except ValueError:
        return 0.0
    return dt.timestamp() + (float("0." + frac) if frac else 0.0)


@dataclass(frozen=True)
class Health:
    """A container's healthcheck state: status, failing streak and the last probes."""

    status: str = "starting"  # starting, healthy, unhealthy
    failing_streak: int = 0
    log: tuple[dict[str, Any], ...] = ()  # the last 5 probes: Start, End, ExitCode, Output

    def to_json(self) -> dict[str, Any]:
        return {"Status": self.status, "FailingStreak": self.failing_streak, "Log": list(self.log)}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Health:
        return cls(d.get("Status", "starting"), int(d.get("FailingStreak", 0)), tuple(d.get("Log") or ()))


@dataclass(frozen=True)
class State:
    """A container's State as `docker inspect` shows it."""

    status: str = "created"  # created, running, paused, restarting, removing, exited, dead
    pid: int = 0
    exit_code: int = 0
    oom_killed: bool = False
    error: str = ""
    started_at: str = ZERO_TIME
    finished_at: str = ZERO_TIME
    health: Health | None = None

    @property
    def running(self) -> bool:
        return self.status in ("running", "paused", "restarting")

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "Status": self.status,
            "Running": self.status in ("running", "paused"),
            "Paused": self.status == "paused",
            "Restarting": self.status == "restarting",
            "OOMKilled": self.oom_killed,
            "Dead": self.status == "dead",
            "Pid": self.pid if self.status in ("running", "paused") else 0,
            "ExitCode": self.exit_code,
            "Error": self.error,
            "StartedAt": self.started_at,
            "FinishedAt": self.finished_at,
        }
        if self.health is not None:
            out["Health"] = self.health.to_json()
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> State:
        health = Health.from_json(d["Health"]) if d.get("Health") else None
        return cls(
            d.get("Status", "created"),
            int(d.get("Pid", 0)),
            int(d.get("ExitCode", 0)),
            bool(d.get("OOMKilled", False)),
            d.get("Error", ""),
            d.get("StartedAt", ZERO_TIME),
            d.get("FinishedAt", ZERO_TIME),
            health,
        )


@dataclass(frozen=True)
class Container:
    """A container's record: its config, host config, state and where it lives."""

    id: str
    name: str  # without the leading "/"
    created: str
    image_id: str  # sha256:...
    image_name: str  # Config.Image as the user wrote it
    config: dict[str, Any]  # Docker's Config, image defaults merged in
    host_config: dict[str, Any]  # Docker's HostConfig, defaults filled
    path: str
    args: tuple[str, ...]
    state: State = field(default_factory=State)
    restart_count: int = 0
    manually_stopped: bool = False  # for unless-stopped and for not restarting after `docker stop`
    mounts: tuple[dict[str, Any], ...] = ()  # resolved mounts as `docker inspect` shows them
    anonymous_volumes: tuple[str, ...] = ()
    exec_ids: tuple[str, ...] = ()

    def with_state(self, **changes: Any) -> Container:
        return dataclasses.replace(self, state=dataclasses.replace(self.state, **changes))

    def to_json(self) -> dict[str, Any]:
        return {
            "ID": self.id,
            "Name": self.name,
            "Created": self.created,
            "Image": self.image_id,
            "ImageName": self.image_name,
            "Config": self.config,
            "Path": self.path,
            "Args": list(self.args),
            "State": self.state.to_json(),
            "RestartCount": self.restart_count,
            "ManuallyStopped": self.manually_stopped,
            "MountPoints": list(self.mounts),
            "AnonymousVolumes": list(self.anonymous_volumes),
            "ExecIDs": list(self.exec_ids),
        }

    @classmethod
    def from_json(cls, d: dict[str, Any], host_config: dict[str, Any]) -> Container:
        return cls(
            id=d["ID"],
            name=d["Name"],
            created=d["Created"],
            image_id=d["Image"],
            image_name=d["ImageName"],
            config=d["Config"],
            host_config=host_config,
            path=d.get("Path", ""),
            args=tuple(d.get("Args", ())),
            state=State.from_json(d.get("State", {})),
            restart_count=int(d.get("RestartCount", 0)),
            manually_stopped=bool(d.get("ManuallyStopped", False)),
            mounts=tuple(d.get("MountPoints", ())),
            anonymous_volumes=tuple(d.get("AnonymousVolumes", ())),
            exec_ids=(),
        )
