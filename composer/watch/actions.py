"""One debounced batch of a service -> what its rules say: sync into every running replica, then restart or
exec; or rebuild the image and recreate only that service. Each action taken is one line to `say`."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from composer.errors import ComposerError
from composer.watch import sync as S
from composer.watch.rules import WatchRule

if TYPE_CHECKING:
    from pathlib import Path

    from composer.session import Session

log = logging.getLogger(__name__)

Say = Callable[[str], None]


def running_replicas(session: Session, service: str) -> list[str]:
    from composer.observe import list_containers

    found = [
        c
        for c in list_containers(session.engine.client, session.name, oneoff=False)
        if c.service == service and c.running
    ]
    return [c.id for c in sorted(found, key=lambda c: c.number)]


def _count(present: Sequence[str], deleted: Sequence[str]) -> str:
    parts = []
    if present:
        parts.append(f"{len(present)} changed")
    if deleted:
        parts.append(f"{len(deleted)} deleted")
    return ", ".join(parts)


def rebuild(
    session: Session, service: str, say: Say, *, prune: bool = False, progress: str = "quiet"
) -> bool:
    from composer.reconcile import UpOptions
    from composer.watch.converge import converge

    say(f"Rebuilding service {service}")
    try:
        converge(
            session,
            UpOptions(
                services=(service,),
                no_deps=True,
                build="always",
                known_services=session.known_services,
                injected=session.injected_digests,
            ),
            progress,
        )
    except ComposerError as exc:
        say(f"Rebuild of service {service} failed, the running container is kept: {exc}")
        return False
    say(f"Service {service} rebuilt and recreated")
    if prune:
        with contextlib.suppress(Exception):  # pruning is housekeeping: a failure must not stop watching
            session.engine.api.prune_images(filters={"dangling": True})
    return True


def apply(
    session: Session,
    rules: Iterable[WatchRule],
    service: str,
    paths: frozenset[Path],
    say: Say,
    *,
    prune: bool = False,
    progress: str = "quiet",
) -> None:
    """Apply every rule of `service` that one of `paths` hits; a rebuild supersedes the syncs."""
    hits: list[tuple[WatchRule, list[str], list[str]]] = []
    for rule in rules:
        if rule.service != service:
            continue
        if rule.syncs:
            present, deleted = S.split(rule, paths)
            if present or deleted:
                hits.append((rule, present, deleted))
        elif any(rule.relative(p) is not None for p in paths):
            hits.append((rule, [], []))
    if not hits:
        return
    if any(rule.action == "rebuild" for rule, _, _ in hits):
        rebuild(session, service, say, prune=prune, progress=progress)
        return
    replicas = running_replicas(session, service)
    if not replicas:
        say(f"Service {service} has no running container, {len(paths)} change(s) not applied")
        return
    try:
        _apply_to(session, service, replicas, hits, say)
    except ComposerError as exc:
        say(f"Watch action for service {service} failed: {exc}")


def _apply_to(
    session: Session,
    service: str,
    replicas: list[str],
    hits: list[tuple[WatchRule, list[str], list[str]]],
    say: Say,
) -> None:
    api = session.engine.api
    restart = False
    for rule, present, deleted in hits:
        if rule.syncs:
            S.sync(api, replicas, rule, present, deleted)
            say(f"Synced service {service}: {_count(present, deleted)} file(s) into {rule.target}")
        if rule.action in ("sync+restart", "restart"):
            restart = True
        if rule.action == "sync+exec":
            for cid in replicas:
                code, output = S.run(
                    api,
                    cid,
                    rule.exec_command,
                    user=rule.exec_user,
                    workdir=rule.exec_workdir,
                    env=rule.exec_env,
                )
                if code:
                    say(f"Exec in service {service} exited with code {code}: {output.strip()[-200:]}")
            say(f"Ran {' '.join(rule.exec_command)} in service {service}")
    if restart:
        from composer.client import engine_errors

        for cid in replicas:
            with engine_errors(f"restarting {cid[:12]}"):
                api.restart(cid)
        say(f"Restarted service {service}")


def initial_sync(session: Session, rules: Iterable[WatchRule], say: Say) -> None:
    """Rules with `initial_sync`: copy what differs by content, so edits made while nothing watched land."""
    api = session.engine.api
    for rule in rules:
        if not (rule.initial_sync and rule.syncs):
            continue
        for cid in running_replicas(session, rule.service):
            try:
                rels = S.stale(api, cid, rule)
                if rels:
                    S.sync(api, [cid], rule, rels, [])
                    say(f"Initial sync of service {rule.service}: {len(rels)} file(s) into {rule.target}")
            except ComposerError as exc:
                say(f"Initial sync of service {rule.service} failed: {exc}")
