"""Block until containers of all (or specified) services stop.

Usage:
  wait [options] SERVICE...

Options:
  --down-project   Drops the project (as `down`) when the first container stops

The exit status is the exit code of the first container that stopped.
"""

from __future__ import annotations

import queue
import threading

from composer.cli.options import GlobalOptions
from composer.errors import ComposerError


def run(argv: list[str], options: GlobalOptions) -> int:
    from composer.cli.parsing import parse_command
    from composer.client import engine_errors
    from composer.presenter import out
    from composer.session import open_session

    args = parse_command(__doc__ or "", argv)
    services = list(args["SERVICE"])
    t = open_session(options, services, streaming=True)
    containers = t.containers(services, all=True)
    if not containers:
        raise ComposerError(f'no containers for project "{t.name}"')
    codes: queue.Queue[tuple[str, int | BaseException]] = queue.Queue()

    def wait_one(cid: str) -> None:
        try:
            with engine_errors():
                codes.put((cid, int(t.api.wait(cid)["StatusCode"])))
        except BaseException as exc:  # handed to the main thread, which reports it
            codes.put((cid, exc))

    for c in containers:
        threading.Thread(target=wait_one, args=(c.id,), daemon=True).start()
    first: int | None = None
    for _ in containers:
        cid, result = codes.get()
        if isinstance(result, BaseException):
            raise result
        out(f'container "{cid}" exited with status code {result}')  # as Compose prints each one
        if first is None:
            first = result
            if args["--down-project"]:
                from composer.cli.commands import down

                down.run(["down"], options)
                break
    return first or 0
