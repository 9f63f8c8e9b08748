"""Start services.

Usage:
  start [options] [SERVICE...]

Options:
  --wait                  Wait for services to be running|healthy
  --wait-timeout SECONDS  Maximum duration in seconds to wait for the project to be running|healthy
"""

from __future__ import annotations

from composer.cli.options import GlobalOptions

SUPPORTS_DRY_RUN = True


def run(argv: list[str], options: GlobalOptions) -> int:
    from composer.cli.commands.up import _int
    from composer.cli.lifecycle import run_plan
    from composer.cli.parsing import parse_command
    from composer.progress import Progress
    from composer.reconcile import plan_start
    from composer.session import open_session
    from composer.waiting import wait_project

    args = parse_command(__doc__ or "", argv)
    wait_timeout = _int(args["--wait-timeout"], "--wait-timeout")
    session = open_session(options, args["SERVICE"])
    plan = plan_start(session.project, session.observe([]), args["SERVICE"])
    run_plan(session, plan, dry_run=options.dry_run)
    if args["--wait"] and not options.dry_run:
        wait_project(session, args["SERVICE"], wait_timeout, Progress(options.progress, ansi=options.ansi))
    return 0
