"""List running compose projects.

Usage:
  ls [options]

Options:
  -a, --all               Show all stopped Compose projects
  -q, --quiet             Only display project names
  --format FORMAT         Format the output: table, table TEMPLATE, json or a Go TEMPLATE [default: table]
  --filter FILTER         Filter output based on conditions provided (name=NAME)
"""

from __future__ import annotations

import json
from collections import Counter

from composer._typecheck import TYPE_CHECKING
from composer.cli.options import GlobalOptions, UsageError

if TYPE_CHECKING:
    from composer.cli.formatting import Columns


def run(argv: list[str], options: GlobalOptions) -> int:
    from composer import labels as L
    from composer.cli.parsing import parse_command
    from composer.client import engine_errors
    from composer.presenter import lines, out
    from composer.session import connect

    args = parse_command(__doc__ or "", argv)
    fmt = args["--format"]
    if fmt not in ("table", "json"):
        from composer.cli.formatting import render

        render(fmt, [], _columns())  # a bad template fails before the engine is asked
    name_filter = None
    if args["--filter"]:
        key, sep, value = args["--filter"].partition("=")
        if key != "name" or not sep:
            raise UsageError(f"invalid --filter {args['--filter']!r}: use name=NAME")
        name_filter = value
    engine = connect(options)
    with engine_errors("listing containers"):
        items = engine.reader.containers(all=True, filters=L.any_project_filter())
    states: dict[str, Counter[str]] = {}
    files: dict[str, str] = {}
    for item in items:
        lab = item.get("Labels") or {}
        project = lab.get(L.PROJECT, "")
        states.setdefault(project, Counter())[str(item.get("State") or "")] += 1
        files.setdefault(project, lab.get(L.CONFIG_FILES, ""))
    rows = []
    for project in sorted(states):
        if name_filter is not None and name_filter not in project:
            continue
        counts = states[project]
        if not args["--all"] and not counts.get("running"):
            continue
        status = ", ".join(f"{state}({n})" for state, n in sorted(counts.items()))
        rows.append({"Name": project, "Status": status, "ConfigFiles": files[project]})
    if args["--quiet"]:
        lines(r["Name"] for r in rows)
    elif fmt == "json":
        out(json.dumps(rows, separators=(",", ":")))
    elif fmt != "table":
        from composer.cli.formatting import render
        from composer.gotemplate import Record

        out(render(fmt, [Record("api.Stack", r) for r in rows], _columns()))
    else:
        table = [
            ["NAME", "STATUS", "CONFIG FILES"],
            *([r["Name"], r["Status"], r["ConfigFiles"]] for r in rows),
        ]
        widths = [max(len(row[i]) for row in table) for i in range(3)]
        out("\n".join("   ".join(c.ljust(widths[i]) for i, c in enumerate(row)).rstrip() for row in table))
    return 0


def _columns() -> Columns:
    """The table --format templates render into (the default table is written directly: the template
    engine is imported only for a --format TEMPLATE)."""
    from composer.cli.formatting import Columns

    return Columns(
        default="{{.Name}}\t{{.Status}}\t{{.ConfigFiles}}",
        titles={"Name": "NAME", "Status": "STATUS", "ConfigFiles": "CONFIG FILES"},
    )
