"""What the Python API returns: small frozen dataclasses and named tuples, no engine JSON."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple


class PortBinding(NamedTuple):
    """Where a container port is reachable from this host."""

    host: str
    port: int


class ExecResult(NamedTuple):
    exit_code: int
    output: str  # stdout and stderr interleaved, as the engine recorded them


@dataclass(frozen=True)
class PublishedPort:
    private_port: int
    protocol: str
    host_ip: str | None  # None: not published
    host_port: int | None


@dataclass(frozen=True)
class Container:
    id: str
    name: str
    service: str
    number: int
    state: str  # created, running, paused, restarting, exited, dead
    health: str | None  # healthy, unhealthy, starting; None without a healthcheck
    exit_code: int | None  # when exited
    oneoff: bool
    ports: tuple[PublishedPort, ...] = ()

    @property
    def running(self) -> bool:
        return self.state in ("running", "restarting", "paused")


@dataclass(frozen=True)
class LogLine:
    service: str
    container: str  # the container's name
    text: str  # without the trailing newline
