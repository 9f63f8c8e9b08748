"""composer as a Python library: load a project, bring it up, look at it, take it down.

    from composer import Project

    with Project.load("examples/webapp", ephemeral_ports=True) as project:   # up(wait=True) ... down()
        url = project.service_url("web", 80)                               # "http://127.0.0.1:32771"
        code, output = project.exec("kv", ["sh", "-c", "echo PING | nc -w1 127.0.0.1 6379"])

It is the CLI's machinery without the CLI's text: the same loader, reconciler, executor and engine
selection (`host`, else DOCKER_HOST, else the embedded engine, started when needed). Failures raise the
exceptions the CLI prints (`composer.errors.ComposerError` and its kinds), with the same messages.

Parallel use: a project gets a unique name (the file's name plus a random suffix) unless one is given,
and `ephemeral_ports=True` lets the engine choose every published host port, so two test processes
bringing up the same file never collide on names or ports.
"""

from __future__ import annotations

from composer.api.isolation import reap_orphaned
from composer.api.project import Project
from composer.api.results import Container, ExecResult, LogLine, PortBinding, PublishedPort
from composer.errors import ComposerError, ConfigError
from composer.options import UsageError
from composer.readiness import WaitTimeout

__all__ = [
    "ComposerError",
    "ConfigError",
    "Container",
    "ExecResult",
    "LogLine",
    "PortBinding",
    "Project",
    "PublishedPort",
    "UsageError",
    "WaitTimeout",
    "reap_orphaned",
]
