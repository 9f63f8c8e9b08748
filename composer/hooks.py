"""Service lifecycle hooks (`post_start`, `pre_stop`, Compose 2.30+): a command exec'd in the container
right after it started / right before it is stopped, with the hook's user, privileged, working_dir and
environment.

As Compose: a hook that exits non-zero fails the operation with "<service> hook exited with status N"
(a failed post_start leaves the container running and its dependents unstarted; a failed pre_stop leaves
the container running). With an attached output the hook's lines are printed prefixed `<name> ->`;
otherwise the exec runs detached and only its exit status is awaited (a hook that leaves a background
process behind does not hold the operation up).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from composer._log import get_logger
from composer._typecheck import TYPE_CHECKING
from composer.client import engine_errors, is_conflict, is_not_found
from composer.errors import ComposerError

if TYPE_CHECKING:
    from typing import Any

log = get_logger(__name__)

POLL = 0.1  # seconds between looks at a detached hook's exec (the Engine API has no exec wait)


class HookError(ComposerError):
    """A hook exited non-zero; its message is Compose's, printed as is."""


@dataclass(frozen=True)
class Hook:
    """A post_start or pre_stop hook of a service."""

    command: tuple[str, ...]
    user: str = ""
    privileged: bool = False
    working_dir: str = ""
    environment: tuple[str, ...] = ()  # KEY=VALUE, added to the container's own environment

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Hook:
        env = d.get("environment") or {}
        return cls(
            command=tuple(str(a) for a in d.get("command") or ()),
            user=str(d.get("user") or ""),
            privileged=bool(d.get("privileged")),
            working_dir=str(d.get("working_dir") or ""),
            environment=tuple(f"{k}={v}" for k, v in env.items() if v is not None),
        )


def hooks_of(options: Mapping[str, Any], kind: str) -> list[Hook]:
    """The service's `post_start` or `pre_stop` hooks, in file order (from Service.options)."""
    return [Hook.from_dict(h) for h in options.get(kind) or ()]


@dataclass
class HookOutput:
    """Where attached hook lines go: kept until an attached `up` has its log printer, then printed
    through it (`write(name, line)` with name "web-1 ->")."""

    _pending: list[tuple[str, str]] = field(default_factory=list)
    _sink: Callable[[str, str], None] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def write(self, name: str, line: str) -> None:
        with self._lock:
            if self._sink is None:
                self._pending.append((name, line))
                return
            sink = self._sink
        sink(name, line)

    def connect(self, sink: Callable[[str, str], None]) -> None:
        with self._lock:
            pending, self._pending, self._sink = self._pending, [], sink
        for name, line in pending:
            sink(name, line)


def run_hook(
    api: Any, container_id: str, service: str, hook: Hook, *, name: str, tty: bool, output: HookOutput | None
) -> bool:
    """Exec one hook in the container; False when the container is gone or not running (nothing to
    hook), HookError when the hook exits non-zero."""
    with engine_errors(f"running a {service} hook"):
        try:
            created = api.exec_create(
                container_id,
                list(hook.command),
                stdout=output is not None,
                stderr=output is not None,
                tty=tty,
                privileged=hook.privileged,
                user=hook.user,
                environment=list(hook.environment) or None,
                workdir=hook.working_dir or None,
            )
        except Exception as exc:
            if is_not_found(exc) or is_conflict(exc):
                log.debug("hook skipped container=%s error=%s", container_id[:12], exc)
                return False
            raise
        exec_id = created["Id"]
        if output is None:
            api.exec_start(exec_id, detach=True)
            # done once it has an exit code: right after a detached start it may not be running yet
            # (a bare "not running" check would return before the hook ran, as Compose's poll can)
            while (info := api.exec_inspect(exec_id)).get("Running") or info.get("ExitCode") is None:
                time.sleep(POLL)
        else:
            _stream(api.exec_output(exec_id, tty=tty), name, output)
        code = int(api.exec_inspect(exec_id).get("ExitCode") or 0)
    if code != 0:
        raise HookError(f"{service} hook exited with status {code}")
    return True


def _stream(chunks: Any, name: str, output: HookOutput) -> None:
    """Hook output, split into lines (stdout and stderr interleaved as they come)."""
    rest = ""
    for chunk in chunks:
        rest += chunk.decode(errors="replace") if isinstance(chunk, bytes) else str(chunk)
        *lines, rest = rest.split("\n")
        for line in lines:
            output.write(name, line.rstrip("\r"))
    if rest:
        output.write(name, rest)
