"""Shared step of the lifecycle commands (start, stop, restart, rm): run a plan with progress."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from composer.plan import Plan
    from composer.session import Session


def run_plan(session: Session, plan: Plan, *, dry_run: bool, progress: str | None = None) -> None:
    from composer.execute import Context, execute
    from composer.presenter import out, warn
    from composer.progress import Progress

    for message in plan.warnings:
        warn(message)
    if dry_run:
        out(str(plan) or "Nothing to do")
        return
    ctx = Context(
        api=session.engine.client,
        project=session.project,
        progress=Progress(progress or session.options.progress, ansi=session.options.ansi),
        meta=session.meta,
    )
    execute(plan, ctx)
