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

from composer.cli.options import GlobalOptions
from composer.errors import ComposerError


def run(argv: list[str], options: GlobalOptions) -> int:
    from composer.cli.commands._common import in_parallel, selected
    from composer.cli.main import parse_command
    from composer.image_ops import push
    from composer.presenter import warn
    from composer.progress import DONE, Progress
    from composer.session import open_session

    args = parse_command(__doc__ or "", argv)
    t = open_session(options, args["SERVICE"])
    project = t.loaded.project
    progress = Progress("quiet" if args["--quiet"] else options.progress, ansi=options.ansi, title="Pushing")
    todo = []
    for name in selected(project, args["SERVICE"], include_deps=bool(args["--include-deps"])):
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
            if not args["--ignore-push-failures"]:
                raise
            failures.append(exc.message)

    try:
        in_parallel(todo, one)
    finally:
        progress.close()
    for message in failures:
        warn(message)
    return 0
