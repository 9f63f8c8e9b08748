"""Restart service containers.

Usage:
  restart [options] [SERVICE...]

Options:
  -t, --timeout SECONDS   Specify a shutdown timeout in seconds
  --no-deps               Don't restart dependent services
"""

from __future__ import annotations

from composer.cli.options import GlobalOptions

SUPPORTS_DRY_RUN = True


def run(argv: list[str], options: GlobalOptions) -> int:
    from composer.cli.commands.up import _int
    from composer.cli.lifecycle import run_plan
    from composer.cli.parsing import parse_command
    from composer.graph import dependents
    from composer.observe import Observed
    from composer.reconcile import plan_start, plan_stop
    from composer.session import open_session

    args = parse_command(__doc__ or "", argv)
    timeout = _int(args["--timeout"], "--timeout")
    session = open_session(options, args["SERVICE"])
    services = list(args["SERVICE"])
    if services and not args["--no-deps"]:
        # a restarted service's dependents restart with it, as the reference does
        services = sorted({*services, *(d for s in services for d in dependents(session.project, s))})
    observed = session.observe([])
    present = [s for s in (services or session.project.services) if observed.service_containers(s)]
    run_plan(session, plan_stop(session.project, observed, present, timeout), dry_run=options.dry_run)
    stopped = Observed(
        observed.project,
        tuple(
            c if not c.running else type(c)(**{**c.__dict__, "state": "exited"}) for c in observed.containers
        ),
    )
    run_plan(session, plan_start(session.project, stopped, present), dry_run=options.dry_run)
    return 0
