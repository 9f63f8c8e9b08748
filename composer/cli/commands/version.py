"""Show the composer version information.

Usage:
  version [--format FORMAT] [--short]

Options:
  -f, --format FORMAT   Format the output: pretty, json or a Go TEMPLATE ({{.Version}}) [default: pretty]
  --short               Show only the version number
"""

from __future__ import annotations

from composer import __version__
from composer.cli.options import GlobalOptions, UsageError


def run(argv: list[str], options: GlobalOptions) -> int:
    from composer.cli.main import parse_command
    from composer.presenter import out, to_json

    args = parse_command(__doc__ or "", argv)
    fmt = args["--format"]
    if args["--short"]:
        out(__version__)
    elif fmt == "json":
        out(to_json({"version": __version__}))
    elif fmt == "pretty":
        out(f"composer version {__version__}")
    elif "{{" not in fmt:
        raise UsageError(
            f"unsupported format {fmt!r}: use pretty, json or a Go template such as {{{{.Version}}}}"
        )
    else:
        from composer.cli.formatting import Columns, render
        from composer.gotemplate import Record

        info = Record("version", {"version": __version__}, {"Version": lambda: __version__})
        out(render(fmt, [info], Columns(default="{{.Version}}", titles={"Version": "VERSION"})))
    return 0
