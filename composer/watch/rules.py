"""`develop.watch` entries of the canonical model as typed rules, and which rule a changed path hits."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from composer.errors import ComposerError
from composer.model import Project, Service
from composer.watch.ignore import Patterns, builtin_ignored, included, relative

ACTIONS = ("sync", "rebuild", "sync+restart", "sync+exec", "restart")
SYNCING = ("sync", "sync+restart", "sync+exec")


class WatchError(ComposerError):
    """A watch rule cannot be used as written."""


@dataclass(frozen=True)
class WatchRule:
    service: str
    action: str
    path: Path
    target: str | None = None
    ignore: Patterns = Patterns()
    include: tuple[str, ...] = ()
    exec_command: tuple[str, ...] = ()
    exec_user: str | None = None
    exec_workdir: str | None = None
    exec_env: tuple[str, ...] = ()
    initial_sync: bool = False
    context_ignore: Patterns = Patterns()  # .dockerignore of the build context, relative to `context`
    context: Path | None = None
    never: frozenset[Path] = frozenset()  # project files and the Dockerfile: never synced

    @property
    def syncs(self) -> bool:
        return self.action in SYNCING

    def relative(self, path: Path) -> str | None:
        """`path` relative to the rule when the rule acts on it, else None."""
        if path in self.never:
            return None
        rel = relative(path, self.path)
        if rel is None or builtin_ignored(rel) or (rel and self.ignore.matches(rel)):
            return None
        if not included(rel, self.include):
            return None
        if self.context is not None:
            crel = relative(path, self.context)
            if crel and self.context_ignore.matches(crel):
                return None
        return rel

    def container_path(self, rel: str) -> str:
        assert self.target is not None
        return self.target.rstrip("/") + "/" + rel if rel else self.target


def _dockerfile(service: Service) -> Path | None:
    build = service.build
    if build is None or build.dockerfile_inline is not None:
        return None
    return Path(build.context) / (build.dockerfile or "Dockerfile")


def _context_ignore(service: Service) -> Patterns:
    """The per-Dockerfile `<Dockerfile>.dockerignore` wins over the context's `.dockerignore`."""
    if service.build is None:
        return Patterns()
    dockerfile = _dockerfile(service)
    if dockerfile is not None and Path(f"{dockerfile}.dockerignore").is_file():
        return Patterns.read(Path(f"{dockerfile}.dockerignore"))
    return Patterns.read(Path(service.build.context) / ".dockerignore")


def _command(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return ("/bin/sh", "-c", value)
    return tuple(str(v) for v in value)


def _env(value: Any) -> tuple[str, ...]:
    if isinstance(value, Mapping):
        return tuple(f"{k}={'' if v is None else v}" for k, v in value.items())
    return tuple(str(v) for v in value or ())


def rule_from(service: Service, entry: Mapping[str, Any], project_files: Iterable[str]) -> WatchRule:
    action = str(entry.get("action") or "")
    if action not in ACTIONS:
        raise WatchError(
            f"service {service.name}: develop.watch action {action!r} is not one of {', '.join(ACTIONS)}"
        )
    if action in SYNCING and not entry.get("target"):
        raise WatchError(f"service {service.name}: develop.watch action {action} needs a target")
    if action == "rebuild" and service.build is None:
        raise WatchError(f"service {service.name}: develop.watch action rebuild needs a build section")
    hook = entry.get("exec") or {}
    if action == "sync+exec" and not hook.get("command"):
        raise WatchError(f"service {service.name}: develop.watch action sync+exec needs exec.command")
    never = {Path(f).resolve() for f in project_files}
    dockerfile = _dockerfile(service)
    if dockerfile is not None:
        never.add(dockerfile.resolve())
    return WatchRule(
        service=service.name,
        action=action,
        path=Path(str(entry["path"])).resolve(),
        target=str(entry["target"]) if entry.get("target") else None,
        ignore=Patterns.parse(str(p) for p in entry.get("ignore") or ()),
        include=tuple(str(p) for p in entry.get("include") or ()),
        exec_command=_command(hook.get("command")),
        exec_user=hook.get("user"),
        exec_workdir=hook.get("working_dir"),
        exec_env=_env(hook.get("environment")),
        initial_sync=bool(entry.get("initial_sync")),
        context_ignore=_context_ignore(service),
        context=Path(service.build.context).resolve() if service.build is not None else None,
        never=frozenset(never),
    )


def rules_for(
    project: Project, services: Iterable[str], project_files: Iterable[str]
) -> tuple[WatchRule, ...]:
    files = tuple(project_files)
    rules = []
    for name in services:
        develop = project.services[name].options.get("develop") or {}
        for entry in develop.get("watch") or ():
            rules.append(rule_from(project.services[name], entry, files))
    return tuple(rules)
