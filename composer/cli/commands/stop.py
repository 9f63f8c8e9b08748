"""Stop services.

Usage:
  stop [options] [SERVICE...]

Options:
  -t, --timeout SECONDS   Specify a shutdown timeout in seconds
"""

from __future__ import annotations

from composer.cli.options import GlobalOptions

SUPPORTS_DRY_RUN = True


def run(argv: list[str], options: GlobalOptions) -> int:
    from composer.cli.commands.up import _int
    from composer.cli.lifecycle import run_plan
    from composer.cli.parsing import parse_command
    from composer.reconcile import plan_stop
    from composer.session import open_session

    args = parse_command(__doc__ or "", argv)
    timeout = _int(args["--timeout"], "--timeout")
    session = open_session(options, args["SERVICE"])
    plan = plan_stop(session.project, session.observe([]), args["SERVICE"], timeout)
    run_plan(session, plan, dry_run=options.dry_run)
    return 0
