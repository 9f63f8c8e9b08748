"""Display the running processes.

Usage:
  top [SERVICE...]
"""

from __future__ import annotations

from composer.cli.options import GlobalOptions


def run(argv: list[str], options: GlobalOptions) -> int:
    from composer.cli.commands._common import in_parallel, table
    from composer.cli.parsing import parse_command
    from composer.presenter import out
    from composer.session import open_session

    args = parse_command(__doc__ or "", argv)
    services = list(args["SERVICE"])
    t = open_session(options, services)
    running = t.containers(services)
    if not running:
        return 0
    tops = in_parallel(running, lambda c: t.api.top(c.id))
    titles = list(tops[0].get("Titles") or [])
    rows = [["SERVICE", "#", *titles]]
    for c, top in zip(running, tops, strict=True):
        for proc in top.get("Processes") or []:
            rows.append([c.service, str(c.number), *(str(v) for v in proc)])
    out(table(rows, padding=2, min_width=4))  # the reference's tabwriter: minwidth 4, padding 2
    return 0
