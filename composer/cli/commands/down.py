"""Stop and remove containers, networks.

Usage:
  down [options] [SERVICE...]

Options:
  --remove-orphans        Remove containers for services not defined in the Compose file
  --rmi TYPE              Remove images used by services: "local" (no custom tag) or "all"
  -v, --volumes           Remove named volumes declared in the "volumes" section and anonymous volumes
  -t, --timeout SECONDS   Specify a shutdown timeout in seconds
  --progress MODE         Progress output: auto, tty, plain, quiet [default: auto]
"""

from __future__ import annotations

from composer.cli.options import GlobalOptions, UsageError

SUPPORTS_DRY_RUN = True


def run(argv: list[str], options: GlobalOptions) -> int:
    from composer.cli.commands.up import _int
    from composer.cli.main import parse_command
    from composer.execute import Context, execute
    from composer.observe import Observed
    from composer.presenter import out, warn
    from composer.progress import Progress
    from composer.reconcile import DownOptions, plan_down
    from composer.session import open_session

    args = parse_command(__doc__ or "", argv)
    if args["--rmi"] not in (None, "local", "all"):
        raise UsageError(f"invalid --rmi {args['--rmi']!r}: use local or all")
    session = open_session(options)
    observed = session.observe()
    if args["SERVICE"]:
        unknown = [s for s in args["SERVICE"] if s not in session.project.services]
        if unknown:
            raise UsageError(f"no such service: {', '.join(unknown)}")
        wanted = set(args["SERVICE"])
        # only those services' containers; shared networks and volumes stay
        observed = Observed(observed.project, tuple(c for c in observed.containers if c.service in wanted))
    plan = plan_down(
        session.project,
        observed,
        DownOptions(
            remove_orphans=bool(args["--remove-orphans"]),
            volumes=bool(args["--volumes"]),
            rmi=args["--rmi"],
            timeout=_int(args["--timeout"], "--timeout"),
            known_services=session.known_services,
        ),
    )
    for message in plan.warnings:
        warn(message)
    if options.dry_run:
        out(str(plan) or "Nothing to do: the project has nothing to remove")
        return 0
    if not plan:
        return 0
    ctx = Context(
        api=session.engine.api,
        project=session.project,
        progress=Progress(args["--progress"], ansi=options.ansi),
    )
    execute(plan, ctx)
    return 0
