"""Build or rebuild services.

Usage:
  build [options] [--build-arg KEY=VAL]... [SERVICE...]

Options:
  --build-arg KEY=VAL   Set build-time variables for services (repeatable)
  --no-cache            Do not use cache when building the image
  --pull                Always attempt to pull a newer version of the image
  --push                Push service images
  -q, --quiet           Don't print anything to stdout
  --with-dependencies   Also build dependencies (transitively)
"""

from __future__ import annotations

import os
import sys

from composer.cli.options import GlobalOptions


def run(argv: list[str], options: GlobalOptions) -> int:
    from composer.cli.commands._common import selected
    from composer.cli.parsing import parse_command
    from composer.image_ops import BuildOptions, build
    from composer.progress import DONE, Progress
    from composer.session import open_session

    args = parse_command(__doc__ or "", argv)
    t = open_session(options, args["SERVICE"])
    project = t.loaded.project
    build_args: dict[str, str] = {}
    for item in args["--build-arg"] or ():
        key, sep, value = item.partition("=")
        if sep:
            build_args[key] = value
        elif key in os.environ:  # a bare KEY takes the caller's value, as docker build does
            build_args[key] = os.environ[key]
    opts = BuildOptions(
        no_cache=bool(args["--no-cache"]),
        pull=bool(args["--pull"]),
        build_args=build_args,
        quiet=bool(args["--quiet"]),
    )
    progress = Progress("quiet" if args["--quiet"] else options.progress, ansi=options.ansi, title="Building")
    names = selected(project, args["SERVICE"], include_deps=bool(args["--with-dependencies"]))
    # one at a time: the classic builder's output is a log, interleaving two would make it unreadable
    for name in names:
        svc = project.services[name]
        if svc.build is None:
            continue
        progress.event("Service", name, "Building")  # Compose's events: the service, then its image
        build(t.api, project, svc, t.loaded.working_dir, opts, sys.stdout)
        progress.event("Service", name, "Built")
        progress.emit(name, status="Built", state=DONE)
    if args["--push"]:  # as Compose: the built images that name an `image:`, once all are built
        from composer.cli.commands.push import push_services

        push_services(t, names, options, quiet=bool(args["--quiet"]))
    return 0
