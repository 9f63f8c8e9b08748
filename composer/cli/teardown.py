"""Ending an attached `up`: Ctrl-C stops exactly the containers this `up` started (those already running
and left unchanged keep running), dependents first, each with its service's stop signal (set on the
container at create) and stop_grace_period (or -t), with a countdown on a terminal; a second Ctrl-C kills
them. --abort-on-container-exit stops every running container of the selected services, as Compose."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING

from composer._log import get_logger
from composer.client import engine_errors

if TYPE_CHECKING:
    from composer.execute import Context
    from composer.observe import ObservedContainer
    from composer.reconcile import UpOptions
    from composer.session import Session

log = get_logger(__name__)

INTERRUPTED = 130  # the exit status of `docker compose up` stopped by Ctrl-C
GRACEFUL = "Gracefully stopping... (press Ctrl+C again to force)"


def _running(
    session: Session, ids: Iterable[str] | None, services: Iterable[str] = ()
) -> list[ObservedContainer]:
    """The project's running containers: those with `ids` (None: all), of `services` (empty: all)."""
    from composer.observe import list_containers

    wanted, only = set(services), None if ids is None else set(ids)
    return [
        c
        for c in list_containers(session.engine.client, session.name, oneoff=False)
        if c.running and (only is None or c.id in only) and (not wanted or c.service in wanted)
    ]


def stop_containers(
    session: Session, ctx: Context, targets: list[ObservedContainer], timeout: int | None
) -> None:
    """Stop `targets` in reverse dependency order with a `[+] Stopping` progress (countdown on a tty)."""
    from composer.execute import Context as ExecContext
    from composer.execute import execute
    from composer.observe import Observed
    from composer.progress import Progress
    from composer.reconcile import plan_stop

    progress = Progress(ctx.progress.mode, stream=ctx.progress.stream, title="Stopping")
    plan = plan_stop(session.project, Observed(session.name, tuple(targets)), (), timeout)
    context = ExecContext(
        api=session.engine.client,
        project=session.project,
        progress=progress,
        signal_stops=True,
        hook_output=ctx.hook_output,
    )
    execute(plan, context)


def interrupted(session: Session, ctx: Context, upopts: UpOptions) -> int:
    """The first Ctrl-C (or SIGTERM) arrived: stop what this `up` started; a second one kills it."""
    return stop_interrupted(session, ctx, ctx.started, upopts.timeout)


def stop_interrupted(session: Session, ctx: Context, ours: Iterable[str], timeout: int | None) -> int:
    """Stop the running containers with ids in `ours` (a second Ctrl-C kills them); the exit status."""
    sys.stderr.write(GRACEFUL + "\n")
    sys.stderr.flush()
    ids = set(ours)
    targets = _running(session, ids)
    log.info("interrupted: stopping %d containers this up started", len(targets))
    try:
        stop_containers(session, ctx, targets, timeout)
    except KeyboardInterrupt:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # a third Ctrl-C must not stop the kill
        try:
            kill_containers(session, ctx, _running(session, ids))
        finally:
            signal.signal(signal.SIGINT, previous)
    return INTERRUPTED


def kill_containers(session: Session, ctx: Context, targets: list[ObservedContainer]) -> None:
    for c in targets:
        try:
            with engine_errors(f"killing {c.name}"):
                session.engine.client.kill(c.id)
        except Exception as exc:  # gone or already ended: nothing left to kill
            log.debug("kill failed container=%s error=%s", c.name, exc)
            continue
        ctx.progress.event("Container", c.name, "Killed")


def abort(session: Session, ctx: Context, upopts: UpOptions) -> None:
    """--abort-on-container-exit: stop every running container of the selected services."""
    stop_containers(session, ctx, _running(session, None, upopts.services), upopts.timeout)
