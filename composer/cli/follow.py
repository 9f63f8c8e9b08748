"""`up --watch`: the services' logs and the watch's one-line messages interleaved on stdout, logs following
containers across a restart or a recreate, until Ctrl-C/SIGTERM. That ends it as attached `up` ends
(`composer.cli.teardown`): what this `up` and its watch started is stopped, what ran before untouched keeps
running, a second Ctrl-C kills."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from composer.execute import Context
    from composer.session import Session

WATCH = "watch"  # the name watch messages are painted with


def follow_watching(
    session: Session,
    args: dict[str, Any],
    services: Sequence[str],
    ctx: Context,
    running_before: set[str],
    timeout: int | None,
) -> int:
    """`running_before`: ids of the project's containers that ran before this `up`; those it left alone
    (not in ctx.started) are not ours to stop."""
    from composer.cli import teardown
    from composer.cli.commands.watch import start, wait_forever
    from composer.containers import list_containers
    from composer.logs import LogFormat, LogPrinter, LogStreamer
    from composer.presenter import use_color

    fmt = LogFormat(
        color=not args["--no-color"] and use_color(session.options.ansi), prefix=not args["--no-log-prefix"]
    )
    printer = LogPrinter(sys.stdout, fmt)
    api = session.engine.api
    streamer = LogStreamer(api, session.name, printer, follow=True)
    attach = set(args["--attach"]) or set(services)
    attach -= set(args["--no-attach"])
    streamer.watch(sorted(attach))
    for c in list_containers(api, session.name, sorted(attach)):
        streamer.add(c)
    watcher = start(session, services, lambda text: printer.note(WATCH, text), reapply=True)
    try:
        wait_forever()
    finally:
        watcher.stop()
        streamer.close()
    left_alone = running_before - set(ctx.started)
    ours = [c.id for c in list_containers(api, watcher.session.name, ()) if c.id not in left_alone]
    return teardown.stop_interrupted(watcher.session, ctx, ours, timeout)
