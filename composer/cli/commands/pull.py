"""Pull service images.

Usage:
  pull [options] [SERVICE...]

Options:
  --ignore-buildable        Ignore images that can be built
  --ignore-pull-failures    Pull what it can and ignores images with pull failures
  --include-deps            Also pull services declared as dependencies
  --policy POLICY           Apply pull policy: missing or always [default: always]
  -q, --quiet               Pull without printing progress information
"""

from __future__ import annotations

from typing import Any

from composer.cli.options import GlobalOptions
from composer.errors import ComposerError


def run(argv: list[str], options: GlobalOptions) -> int:
    from composer.cli.commands._common import in_parallel, selected
    from composer.image_ops import pull
    from composer.presenter import warn
    from composer.progress import Progress
    from composer.session import open_session
    from composer.spec import image_ref

    args = parse(argv)
    if args["--policy"] not in ("missing", "always"):
        raise ComposerError(f"invalid --policy {args['--policy']!r}: use missing or always")
    t = open_session(options, args["SERVICE"])
    project = t.loaded.project
    progress = Progress("quiet" if args["--quiet"] else options.progress, ansi=options.ansi, title="Pulling")
    todo = []
    for name in selected(project, args["SERVICE"], include_deps=bool(args["--include-deps"])):
        svc = project.services[name]
        if svc.image is None or svc.pull_policy in ("build", "never"):
            continue  # nothing to pull: the image is built (or the file says never to pull)
        if svc.build is not None and args["--ignore-buildable"]:
            continue
        if args["--policy"] == "missing" and _present(t.api, svc.image):
            continue
        todo.append((name, image_ref(project, svc), svc.build is not None))
    failures: list[str] = []

    def one(item: tuple[str, str, bool]) -> None:
        name, ref, buildable = item
        progress.event("Image", ref, "Pulling")
        try:
            pull(t.api, ref, name)
        except ComposerError as exc:
            progress.event("Image", ref, "Error")
            if not (args["--ignore-pull-failures"] or buildable):
                raise
            failures.append(exc.message)
            return
        progress.event("Image", ref, "Pulled")

    in_parallel(todo, one)
    for message in failures:
        warn(message)
    return 0


def _present(api: object, ref: str) -> bool:
    import docker.errors

    try:
        api.inspect_image(ref)  # type: ignore[attr-defined]
    except docker.errors.NotFound:
        return False
    return True


def parse(argv: list[str]) -> dict[str, Any]:
    from composer.cli.main import parse_command

    return parse_command(__doc__ or "", argv)
