"""`up --watch`: the services' logs and the watch's one-line messages interleaved on stdout, logs following
containers across a restart or a recreate, until Ctrl-C/SIGTERM, which stops the project's containers."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from composer.session import Session

WATCH = "watch"  # the name watch messages are painted with


def follow_watching(session: Session, args: dict[str, Any], services: Sequence[str]) -> int:
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
    sys.stderr.write("Gracefully stopping...\n")
    _stop(watcher.session)
    return 0


def _stop(session: Session) -> None:
    from composer.execute import Context, execute
    from composer.observe import Observed, list_containers
    from composer.progress import Progress
    from composer.reconcile import plan_stop

    containers = tuple(
        c for c in list_containers(session.engine.client, session.name, oneoff=False) if c.running
    )
    plan = plan_stop(session.project, Observed(session.name, containers), (), None)
    execute(plan, Context(api=session.engine.client, project=session.project, progress=Progress("quiet")))
