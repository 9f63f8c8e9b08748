"""Removes stopped service containers.

Usage:
  rm [options] [SERVICE...]

Options:
  -f, --force     Don't ask to confirm removal
  -s, --stop      Stop the containers, if required, before removing
  -v, --volumes   Remove any anonymous volumes attached to containers
"""

from __future__ import annotations

import sys

from composer.cli.options import GlobalOptions

SUPPORTS_DRY_RUN = True


def run(argv: list[str], options: GlobalOptions) -> int:
    from composer.cli.parsing import parse_command
    from composer.execute import Context, execute
    from composer.plan import Kind, Operation, Plan
    from composer.presenter import out
    from composer.progress import Progress
    from composer.reconcile import plan_stop
    from composer.session import open_session

    args = parse_command(__doc__ or "", argv)
    session = open_session(options, args["SERVICE"])
    observed = session.observe([])
    wanted = set(args["SERVICE"]) or set(session.project.services)
    mine = [c for c in observed.containers if c.service in wanted and not c.oneoff]
    ctx = Context(
        api=session.engine.client,
        project=session.project,
        progress=Progress(options.progress, ansi=options.ansi),
        meta=session.meta,
    )
    if args["--stop"] and any(c.running for c in mine):
        stop = plan_stop(session.project, observed, sorted(wanted))
        if options.dry_run:
            out(str(stop))
        else:
            execute(stop, ctx)
        mine = [c if not c.running else type(c)(**{**c.__dict__, "state": "exited"}) for c in mine]
    targets = [c for c in mine if not c.running]
    if not targets:
        sys.stderr.write("No stopped containers\n")
        return 0
    if not args["--force"] and not options.dry_run:
        sys.stderr.write(f"Going to remove {', '.join(c.name for c in targets)}\n? Are you sure? (y/N) ")
        sys.stderr.flush()
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            return 0
    plan = Plan(
        session.name,
        tuple(
            Operation(
                f"remove:{c.id}",
                Kind.REMOVE_CONTAINER,
                c.name,
                "rm",
                service=c.service,
                container_id=c.id,
                remove_volumes=bool(args["--volumes"]),
            )
            for c in targets
        ),
    )
    if options.dry_run:
        out(str(plan))
        return 0
    execute(plan, ctx)
    return 0
