"""Force stop service containers.

Usage:
  kill [options] [SERVICE...]

Options:
  -s, --signal SIGNAL   SIGNAL to send to the container [default: SIGKILL]
  --remove-orphans      Remove containers for services not defined in the Compose file
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from composer.cli.options import GlobalOptions

if TYPE_CHECKING:
    from composer.containers import ProjectContainer


def run(argv: list[str], options: GlobalOptions) -> int:
    from composer.cli.commands._common import in_parallel
    from composer.cli.parsing import parse_command
    from composer.progress import Progress
    from composer.session import open_session

    args = parse_command(__doc__ or "", argv)
    progress = Progress(options.progress, ansi=options.ansi, title="Killing")  # Compose's title
    services = list(args["SERVICE"])
    t = open_session(options, services)
    signal = args["--signal"]
    if args["--remove-orphans"]:
        known = set(t.loaded.project.services) | set(t.loaded.disabled_services)
        orphans = [c for c in t.containers(all=True) if c.service not in known]
        in_parallel(orphans, lambda c: t.api.remove_container(c.id, force=True))
    running = t.containers(services)
    if not running:
        sys.stderr.write("no container to kill\n")
        return 0
    for c in running:
        progress.event("Container", c.name, "Killing")

    def kill(c: ProjectContainer) -> None:
        t.api.kill(c.id, signal=signal)
        progress.event("Container", c.name, "Killed")

    try:
        in_parallel(running, kill)
    finally:
        progress.close()
    return 0
