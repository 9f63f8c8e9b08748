"""Push service images.

Usage:
  push [options] [SERVICE...]

Options:
  --ignore-push-failures    Push what it can and ignores images with push failures
  --include-deps            Also push images of services declared as dependencies
  -q, --quiet               Push without printing progress information

Only services that are built and name an `image:` are pushed (the others are someone else's images).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from composer.cli.options import GlobalOptions
from composer.errors import ComposerError

if TYPE_CHECKING:
    from composer.session import Session


def run(argv: list[str], options: GlobalOptions) -> int:
    from composer.cli.commands._common import selected
    from composer.cli.parsing import parse_command
    from composer.session import open_session

    args = parse_command(__doc__ or "", argv)
    t = open_session(options, args["SERVICE"])
    names = selected(t.loaded.project, args["SERVICE"], include_deps=bool(args["--include-deps"]))
    push_services(t, names, options, quiet=bool(args["--quiet"]),
                  ignore_failures=bool(args["--ignore-push-failures"]))
    return 0


def push_services(t: Session, names: list[str], options: GlobalOptions, *, quiet: bool,
                  ignore_failures: bool = False) -> None:
    """Push the images of these services that are built and name an `image:` (`push`, `build --push`)."""
    from composer.cli.commands._common import in_parallel
    from composer.image_ops import push
    from composer.presenter import warn
    from composer.progress import DONE, Progress

    project = t.loaded.project
    progress = Progress("quiet" if quiet else options.progress, ansi=options.ansi, title="Pushing")
    todo = []
    for name in names:
        svc = project.services[name]
        if svc.build is None or not svc.image:
            progress.emit(name, text="Skipped", state=DONE)  # someone else's image (as Compose)
            continue
        todo.append((name, svc.image))
    failures: list[str] = []

    def one(item: tuple[str, str]) -> None:
        name, ref = item
        try:
            push(t.api, ref, name, progress)
        except ComposerError as exc:
            if not ignore_failures:
                raise
            failures.append(exc.message)

    try:
        in_parallel(todo, one)
    finally:
        progress.close()
    for message in failures:
        warn(message)
