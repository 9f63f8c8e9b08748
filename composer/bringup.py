"""Bring a project up: decide (reconcile), pull/build the images, decide again with their real IDs, apply,
and optionally wait until the services are ready. The one path `up`, `watch` and the Python API take.

    result = bring_up(session, UpOptions(services=("web",)), progress=Progress("quiet"), wait=True)
    result.ctx.started                       # ids of the containers this bring-up started
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from composer._typecheck import TYPE_CHECKING
from composer.reconcile import UpOptions, reconcile

if TYPE_CHECKING:
    from composer.execute import Context
    from composer.hooks import HookOutput
    from composer.observe import Observed
    from composer.plan import Plan
    from composer.progress import Progress
    from composer.session import Session


@dataclass(frozen=True)
class BringUp:
    """What `bring_up` decided and applied."""

    plan: Plan  # what was decided (before images when it had image work: that is what --dry-run shows)
    observed: Observed  # the snapshot before anything was done
    ctx: Context | None  # None when nothing was applied (dry run, or converged and no context needed)


class UpInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM, for an attached `up`) while the plan was applied: `ctx.started` says what this
    bring-up had started by then, for the caller to stop (still a KeyboardInterrupt for the others)."""

    def __init__(self, ctx: Context) -> None:
        super().__init__()
        self.ctx = ctx


def bring_up(
    session: Session,
    options: UpOptions,
    *,
    progress: Progress,
    quiet_pull: bool = False,
    dry_run: bool = False,
    wait: bool = False,
    wait_timeout: int | None = None,
    need_context: bool = False,
    hook_output: HookOutput | None = None,
) -> BringUp:
    """Converge the project on `options`. `need_context`: the caller follows what was started (attached
    `up`, `up --watch`), so a context is made even when there is nothing to do. `hook_output`: where an
    attached `up` prints the lifecycle hooks' output."""
    from composer.buildcontext import encode
    from composer.execute import Context, execute
    from composer.plan import Kind, Plan
    from composer.presenter import warn

    project = session.project
    options = replace(
        options,
        known_services=options.known_services or session.known_services,
        injected=options.injected or session.injected_digests,
    )
    options = _update_order(options, session)
    observed = session.observe()
    plan = reconcile(project, observed, options)
    for message in plan.warnings:
        warn(message)
    if dry_run or (not plan and not need_context and not wait):
        # converged: nothing to write
        return BringUp(plan, observed, None)
    ctx = Context(
        api=session.engine.client,
        project=project,
        progress=progress,
        meta=session.meta,
        networks_supported=observed.networks is not None,
        quiet_pull=quiet_pull,
        build_contexts={n: encode(d) for n, d in observed.contexts.items() if d is not None},
        hook_output=hook_output,
    )
    first = plan
    try:
        if plan.of_kind(Kind.PULL_IMAGE, Kind.BUILD_IMAGE):
            # Images first, then decide about containers with the images' real IDs: a rebuilt context or
            # a newly pulled tag changes the ID, and only then is the container recreated.
            execute(Plan(plan.project, tuple(plan.of_kind(Kind.PULL_IMAGE, Kind.BUILD_IMAGE))), ctx)
            plan = reconcile(project, session.observe(), replace(options, images_ready=True))
        execute(plan, ctx)
        if wait and not options.no_start:
            from composer.waiting import wait_project

            wait_project(session, options.services, wait_timeout, progress)
    except KeyboardInterrupt:
        raise UpInterrupted(ctx) from None
    return BringUp(first, observed, ctx)


def _update_order(options: UpOptions, session: Session) -> UpOptions:
    """COMPOSER_UPDATE_ORDER (the opt-in default order) and whether the engine can run start-first updates
    of services with published ports (asked only when some service would update start-first)."""
    from composer import rollout
    from composer.options import UsageError

    order = session.options.environ.get(rollout.ORDER_ENV) or None
    if order not in (None, "start-first", "stop-first"):
        raise UsageError(f"invalid {rollout.ORDER_ENV}={order!r}: use start-first or stop-first")
    services = session.project.services.values()
    if not any(rollout.wants_start_first(svc, order) for svc in services):
        return replace(options, update_order=order)
    shared = rollout.engine_shares_ports(session.engine.client)
    return replace(options, update_order=order, shared_ports=shared)
