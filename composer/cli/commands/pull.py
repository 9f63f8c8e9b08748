"""Pull service images.

Usage:
  pull [options] [SERVICE...]

Options:
  --ignore-buildable        Ignore images that can be built
  --ignore-pull-failures    Pull what it can and ignores images with pull failures
  --include-deps            Also pull services declared as dependencies
  --policy POLICY           Apply pull policy: missing or always (to every service, over the file's)
  -q, --quiet               Pull without printing progress information
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from composer.cli.options import GlobalOptions
from composer.errors import ComposerError

if TYPE_CHECKING:
    from composer.lite import Client


def run(argv: list[str], options: GlobalOptions) -> int:
    from composer.cli.commands._common import in_parallel, selected
    from composer.image_ops import pull
    from composer.presenter import warn
    from composer.progress import DONE, ERROR, WARNING, Progress
    from composer.session import open_session
    from composer.spec import image_ref

    args = parse(argv)
    if args["--policy"] not in (None, "missing", "always"):
        raise ComposerError(f"invalid --policy {args['--policy']!r}: use missing or always")
    t = open_session(options, args["SERVICE"])
    project = t.loaded.project
    progress = Progress("quiet" if args["--quiet"] else options.progress, ansi=options.ansi, title="Pulling")
    todo = []
    for name in selected(project, args["SERVICE"], include_deps=bool(args["--include-deps"])):
        svc = project.services[name]
        policy = args["--policy"] or svc.pull_policy  # --policy applies to every service, as Compose's
        # what is not pulled says why, in Compose's words
        if svc.image is None:
            progress.emit(name, text="Skipped - No image to be pulled", state=DONE)
        elif policy in ("build", "never"):
            progress.emit(name, text="Skipped", state=DONE)
        elif policy in ("missing", "if_not_present") and _present_to_pull(t.api, svc.image):
            progress.emit(name, text="Skipped - Image is already present locally", state=DONE)
        elif svc.build is not None and args["--ignore-buildable"]:
            progress.emit(name, text="Skipped - Image can be built", state=DONE)
        else:
            todo.append((name, image_ref(project, svc), svc.build is not None))
    failures: list[str] = []
    first_of: dict[str, str] = {}  # image -> the service that pulls it (Compose pulls an image once)
    for name, ref, _ in todo:
        first_of.setdefault(ref, name)

    def one(item: tuple[str, str, bool]) -> None:
        name, ref, buildable = item
        if first_of[ref] != name:
            skipped = f"Skipped - Image is already being pulled by {first_of[ref]}"
            progress.emit(name, text=skipped, state=DONE)
            return
        progress.emit(name, text="Pulling")
        try:
            pull(t.api, ref, name, progress, parent=name)
        except ComposerError as exc:  # a service that can be built instead only warns
            progress.emit(name, text="Warning" if buildable else "Error", status=exc.message,
                          state=WARNING if buildable else ERROR)
            if not (args["--ignore-pull-failures"] or buildable):
                raise
            failures.append(exc.message)
            return
        progress.emit(name, text="Pulled", state=DONE)

    try:
        in_parallel(todo, one)
    finally:
        progress.close()
    for message in failures:
        warn(message)
    return 0


def _present_to_pull(api: Client, ref: str) -> bool:
    """Is the image here, as `docker compose pull` asks it: a `latest` tag (named or implied) is always
    pulled again, whatever the policy; a digest or another tag is not when present."""
    from composer.image_ops import split_ref

    _name, tag = split_ref(ref)
    return tag != "latest" and _present(api, ref)


def _present(api: Client, ref: str) -> bool:
    from composer.client import is_not_found

    try:
        api.inspect_image(ref)
    except Exception as exc:
        if is_not_found(exc):
            return False
        raise
    return True


def parse(argv: list[str]) -> dict[str, Any]:
    from composer.cli.parsing import parse_command

    return parse_command(__doc__ or "", argv)
