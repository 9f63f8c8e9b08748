"""Unpause services.

Usage:
  unpause [SERVICE...]
"""

from __future__ import annotations

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
    progress = Progress(options.progress, ansi=options.ansi, title="Running")  # Compose's title
    services = list(args["SERVICE"])
    t = open_session(options, services)
    chosen = [c for c in t.containers(services, all=True) if c.state == "paused"]

    def act(c: ProjectContainer) -> None:
        t.api.unpause(c.id)
        progress.event("Container", c.name, "Unpaused")

    try:
        in_parallel(chosen, act)
    finally:
        progress.close()
    return 0
