"""Bring (part of) a project to its file's state the way `up -d` does: images first, then containers decided
with the images' real IDs. Used for a `rebuild` action and for re-applying an edited project file."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from composer.execute import Context
    from composer.plan import Plan
    from composer.reconcile import UpOptions
    from composer.session import Session

log = logging.getLogger(__name__)


def converge(session: Session, upopts: UpOptions, progress_mode: str = "quiet") -> Plan:
    """Apply the plan for `upopts`; returns the container plan that was executed. An image that fails to
    build raises before any container is touched, so the running ones stay."""
    from composer.buildcontext import encode
    from composer.execute import execute
    from composer.plan import Kind, Plan
    from composer.reconcile import reconcile

    observed = session.observe()
    plan = reconcile(session.project, observed, upopts)
    ctx = _context(
        session,
        observed.networks is not None,
        progress_mode,
        {n: encode(d) for n, d in observed.contexts.items() if d is not None},
    )
    if plan.of_kind(Kind.PULL_IMAGE, Kind.BUILD_IMAGE):
        execute(Plan(plan.project, tuple(plan.of_kind(Kind.PULL_IMAGE, Kind.BUILD_IMAGE))), ctx)
        plan = reconcile(session.project, session.observe(), replace(upopts, images_ready=True))
    log.debug("converge plan=%s", str(plan).replace("\n", "; "))
    execute(plan, ctx)
    return plan


def _context(session: Session, networks: bool, mode: str, contexts: dict[str, str]) -> Context:
    from composer.execute import Context
    from composer.progress import Progress

    return Context(
        api=session.engine.client,
        project=session.project,
        progress=Progress(mode, ansi=session.options.ansi),
        meta=session.meta,
        networks_supported=networks,
        quiet_pull=True,
        build_contexts=contexts,
    )
