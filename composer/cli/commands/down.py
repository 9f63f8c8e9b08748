"""Stop and remove containers, networks.

Usage:
  down [options] [SERVICE...]

Options:
  --remove-orphans        Remove containers for services not defined in the Compose file
  --rmi TYPE              Remove images used by services: "local" (no custom tag) or "all"
  -v, --volumes           Remove named volumes declared in the "volumes" section and anonymous volumes
  -t, --timeout SECONDS   Specify a shutdown timeout in seconds
  --progress MODE         Progress output: auto, tty, plain, quiet (default: the global --progress)

With -p NAME and no Compose file, everything labelled as project NAME is removed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from composer.cli.options import GlobalOptions, UsageError

if TYPE_CHECKING:
    from composer.model import Project
    from composer.observe import Observed

SUPPORTS_DRY_RUN = True


def run(argv: list[str], options: GlobalOptions) -> int:
    from composer.cli.commands.up import _int
    from composer.cli.parsing import parse_command
    from composer.execute import Context, execute
    from composer.presenter import out, warn
    from composer.progress import Progress
    from composer.reconcile import DownOptions, plan_down

    args = parse_command(__doc__ or "", argv)
    if args["--rmi"] not in (None, "local", "all"):
        raise UsageError(f"invalid --rmi {args['--rmi']!r}: use local or all")
    project, observed, known, engine = _target(args, options)
    plan = plan_down(
        project,
        observed,
        DownOptions(
            remove_orphans=bool(args["--remove-orphans"]),
            volumes=bool(args["--volumes"]),
            rmi=args["--rmi"],
            timeout=_int(args["--timeout"], "--timeout"),
            known_services=known,
        ),
    )
    for message in plan.warnings:
        warn(message)
    if options.dry_run:
        out(str(plan) or "Nothing to do: the project has nothing to remove")
        return 0
    if not plan:
        return 0
    progress = Progress(args["--progress"] or options.progress, ansi=options.ansi)
    ctx = Context(api=engine.client, project=project, progress=progress)
    execute(plan, ctx)
    return 0


def _target(
    args: dict[str, Any], options: GlobalOptions
) -> tuple[Project | None, Observed, frozenset[str], Any]:
    """(project or None, snapshot, services that are not orphans, engine)."""
    from composer.errors import ConfigError
    from composer.observe import Observed, observe
    from composer.session import connect, open_session

    try:
        session = open_session(options, args["SERVICE"])
    except ConfigError:
        if not options.project_name or args["SERVICE"]:
            raise
        # no usable file but a name: the labels are the whole record of what the project owns
        engine = connect(options)
        snapshot = observe(engine.reader, options.project_name)
        return None, snapshot, frozenset(c.service for c in snapshot.containers), engine
    observed = session.observe()
    if args["SERVICE"]:
        wanted = set(args["SERVICE"])
        # only those services' containers; shared networks and volumes stay
        observed = Observed(observed.project, tuple(c for c in observed.containers if c.service in wanted))
    return session.project, observed, session.known_services, session.engine
