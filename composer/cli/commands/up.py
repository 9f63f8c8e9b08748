"""Create and start containers.

Usage:
  up [options] [--scale SERVICE=NUM]... [--attach SERVICE]... [--no-attach SERVICE]... [SERVICE...]

Options:
  -d, --detach                  Detached mode: run containers in the background
  --build                       Build images before starting containers
  --no-build                    Don't build an image, even if it's missing
  --pull POLICY                 Pull image before running (always, missing, never, build)
  --force-recreate              Recreate containers even if their configuration and image haven't changed
  --no-recreate                 If containers already exist, don't recreate them
  --no-deps                     Don't start linked services
  --no-start                    Don't start the services after creating them
  --remove-orphans              Remove containers for services not defined in the Compose file
  --scale SERVICE=NUM           Scale SERVICE to NUM instances (overrides `scale` in the file)
  --wait                        Wait for services to be running|healthy; implies detached mode
  --wait-timeout SECONDS        Maximum duration in seconds to wait for the project to be running|healthy
  --abort-on-container-exit     Stops all containers if any container was stopped
  --abort-on-container-failure  Stops all containers if any container exited with failure
  --exit-code-from SERVICE      Return the exit code of the selected service container
  --attach SERVICE              Restrict attaching to the specified services
  --no-attach SERVICE           Do not attach (stream logs) to the specified services
  --no-color                    Produce monochrome output
  --no-log-prefix               Don't print prefix in logs
  -t, --timeout SECONDS         Use this timeout in seconds for container shutdown
  --quiet-pull                  Pull without printing progress information
  --progress MODE               Progress output: auto, tty, plain, quiet (default: the global --progress)
  -w, --watch                   Watch source code and rebuild/refresh containers when files are updated;
                                edits of the project file(s) and .env are re-applied too
"""

from __future__ import annotations

from composer._typecheck import TYPE_CHECKING
from composer.cli.options import GlobalOptions, UsageError

if TYPE_CHECKING:
    from typing import Any

    from composer.reconcile import UpOptions

SUPPORTS_DRY_RUN = True


def _int(value: str | None, flag: str) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise UsageError(f"{flag} needs a whole number, not {value!r}") from None


def _scale(items: list[str]) -> dict[str, int]:
    out = {}
    for item in items:
        name, sep, num = item.partition("=")
        if not sep or not num.isdigit():
            raise UsageError(f"invalid --scale {item!r}: use SERVICE=NUM")
        out[name] = int(num)
    return out


def run(argv: list[str], options: GlobalOptions) -> int:
    from composer.cli.parsing import parse_command

    args = parse_command(__doc__ or "", argv)
    return up(args, options)


def defaults() -> dict[str, Any]:
    """up's arguments with no flag given: what `create` and `scale` start from."""
    from composer.cli.parsing import parse_command

    return parse_command(__doc__ or "", [])


def up(args: dict[str, Any], options: GlobalOptions) -> int:
    from composer.bringup import UpInterrupted, bring_up
    from composer.cli.attach import sigterm_as_ctrl_c
    from composer.hooks import HookOutput
    from composer.presenter import out
    from composer.progress import Progress
    from composer.session import open_session

    if args["--build"] and args["--no-build"]:
        raise UsageError("--build and --no-build are incompatible")
    if args["--force-recreate"] and args["--no-recreate"]:
        raise UsageError("--force-recreate and --no-recreate are incompatible")
    if args["--pull"] not in (None, "always", "missing", "never", "build", "policy"):
        raise UsageError(f"invalid --pull {args['--pull']!r}: use always, missing, never or build")
    detach = bool(args["--detach"] or args["--wait"])
    if args.get("--watch") and detach:
        raise UsageError("--watch cannot be combined with -d/--wait")
    if args["--abort-on-container-failure"] and args["--abort-on-container-exit"]:
        raise UsageError("--abort-on-container-failure cannot be combined with --abort-on-container-exit")
    attach_flags = (args["--abort-on-container-exit"], args["--abort-on-container-failure"], args["--attach"])
    if detach and (any(attach_flags) or args["--exit-code-from"]):
        raise UsageError(
            "--detach cannot be combined with --abort-on-container-exit, --abort-on-container-failure, "
            "--attach, --attach-dependencies or --watch"
        )
    timeout = _int(args["--timeout"], "--timeout")
    wait_timeout = _int(args["--wait-timeout"], "--wait-timeout")
    session = open_session(options)
    services = tuple(args["SERVICE"])
    if args["--exit-code-from"] and args["--exit-code-from"] not in session.project.services:
        raise UsageError(f"no such service: {args['--exit-code-from']}")
    upopts = up_options(args, services, timeout)
    attached = not (detach or args["--no-start"] or args.get("--watch") or options.dry_run)
    try:
        with sigterm_as_ctrl_c(attached):
            result = bring_up(
                session,
                upopts,
                progress=Progress(args["--progress"] or options.progress, ansi=options.ansi),
                quiet_pull=bool(args["--quiet-pull"]),
                dry_run=options.dry_run,
                wait=bool(args["--wait"]),
                wait_timeout=wait_timeout,
                need_context=not (detach or args["--no-start"]),
                hook_output=None if detach or args["--no-start"] or args.get("--watch") else HookOutput(),
            )
    except UpInterrupted as interrupted:
        if not attached:
            raise
        # Compose's `up` stops what it started on a Ctrl-C before it attached, too
        from composer.cli import teardown

        return teardown.interrupted(session, interrupted.ctx, upopts)
    plan, ctx = result.plan, result.ctx
    if options.dry_run:
        out(str(plan) or "Nothing to do: the project is up to date")
        if plan:
            out("".join(f"Service {name}: unchanged\n" for name in plan.unchanged))
        return 0
    if ctx is None or args["--no-start"] or detach:
        return 0
    if args.get("--watch"):
        from composer.cli.follow import follow_watching

        running_before = {c.id for c in result.observed.containers if c.running}
        return follow_watching(session, args, services, ctx, running_before, timeout)
    from composer.cli.attach import follow_project

    return follow_project(session, args, ctx, upopts)


def up_options(args: dict[str, Any], services: tuple[str, ...], timeout: int | None) -> UpOptions:
    """up's flags as the reconciler's options."""
    from composer.reconcile import UpOptions

    return UpOptions(
        services=services,
        no_deps=bool(args["--no-deps"]),
        force_recreate=bool(args["--force-recreate"]),
        no_recreate=bool(args["--no-recreate"]),
        no_start=bool(args["--no-start"]),
        remove_orphans=bool(args["--remove-orphans"]),
        scale=_scale(args["--scale"]),
        build="always" if args["--build"] else "never" if args["--no-build"] else "auto",
        pull=None if args["--pull"] in (None, "policy") else args["--pull"],
        timeout=timeout,
    )
