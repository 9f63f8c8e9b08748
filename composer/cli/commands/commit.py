"""Create a new image from a service container's changes.

Usage:
  commit [options] [-c CHANGE]... SERVICE [REPOSITORY]

Options:
  -a, --author AUTHOR     Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")
  -c, --change CHANGE     Apply Dockerfile instruction to the created image (repeatable)
  -m, --message MESSAGE   Commit message
  -p, --pause BOOL        Pause container during commit: true or false [default: true]
  --index INDEX           Index of the container if the service has multiple replicas

REPOSITORY may carry a tag (`name:tag`); without it the image is left untagged.
"""

from __future__ import annotations

from composer.cli.options import GlobalOptions, UsageError


def run(argv: list[str], options: GlobalOptions) -> int:
    from composer.cli.commands._common import event_line, parse_index
    from composer.cli.parsing import parse_command
    from composer.client import engine_errors
    from composer.session import open_session

    args = parse_command(__doc__ or "", argv)
    pause = str(args["--pause"]).lower()
    if pause not in ("true", "false", "1", "0"):
        raise UsageError(f"invalid --pause value {args['--pause']!r}: use true or false")
    service = args["SERVICE"]
    t = open_session(options)
    container = t.container(service, parse_index(args["--index"]), check=False)
    repository, tag = _split_reference(args["REPOSITORY"])
    name = container.name
    event_line(name, f"Commit {name}", "Committing")
    with engine_errors():
        result = t.api.commit(
            container.id,
            repository=repository,
            tag=tag,
            message=args["--message"],
            author=args["--author"],
            pause=pause in ("true", "1"),
            changes=list(args["--change"]) or None,
        )
    event_line(name, f"Commit {name}", f"Committed as {result['Id']}")
    return 0


def _split_reference(ref: str | None) -> tuple[str | None, str | None]:
    """`repo[:tag]` -> (repo, tag); a colon inside a registry host:port is not a tag."""
    if not ref:
        return None, None
    repo, sep, tag = ref.rpartition(":")
    if not sep or "/" in tag:
        return ref, None
    return repo, tag
