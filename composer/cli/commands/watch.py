"""Watch the build context of services and rebuild/refresh containers when files are updated.

Usage:
  watch [options] [SERVICE...]

Options:
  --no-up       Do not build and start the services before watching
  --prune       Prune dangling images after a rebuild
  --quiet       Hide build output
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from types import FrameType
from typing import TYPE_CHECKING

from composer.cli.options import GlobalOptions, UsageError
from composer.errors import ComposerError

if TYPE_CHECKING:
    from composer.session import Session
    from composer.watch.watcher import Watcher


def run(argv: list[str], options: GlobalOptions) -> int:
    from composer.cli.parsing import parse_command
    from composer.session import open_session

    args = parse_command(__doc__ or "", argv)
    session = open_session(options)
    services = tuple(args["SERVICE"])
    for name in services:
        if name not in session.project.services:
            raise UsageError(f"no such service: {name}")
    if not args["--no-up"]:  # as `up -d --quiet-pull SERVICE...`
        from composer.bringup import bring_up
        from composer.progress import Progress
        from composer.reconcile import UpOptions

        progress = Progress(options.progress, ansi=options.ansi)
        bring_up(session, UpOptions(services=services), progress=progress, quiet_pull=True)
    watcher = start(
        session,
        services,
        printer(),
        reapply=True,
        prune=bool(args["--prune"]),
        progress="quiet" if args["--quiet"] else "plain",
    )
    try:
        wait_forever()
    finally:
        watcher.stop()
    return 0


def printer() -> Callable[[str], None]:
    """One line per watch action on stdout, whole lines even when log threads write too."""
    lock = threading.Lock()

    def say(line: str) -> None:
        with lock:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    return say


def start(
    session: Session,
    services: Sequence[str],
    say: Callable[[str], None],
    *,
    reapply: bool,
    prune: bool = False,
    progress: str = "quiet",
) -> Watcher:
    from composer.watch.watcher import Watcher, watched_services

    if not watched_services(session, services):
        raise ComposerError("none of the selected services has a develop.watch section: nothing to watch")
    watcher = Watcher(session, services, say, reapply=reapply, prune=prune, progress=progress)
    watcher.start()
    say(f"Watch enabled{' (polling)' if watcher.polling else ''}")
    return watcher


def wait_forever() -> None:
    """Until Ctrl-C or SIGTERM (both end watching cleanly)."""

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
