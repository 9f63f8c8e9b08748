"""Show the composer version information.

Usage:
  version [--format FORMAT] [--short]

Options:
  -f, --format FORMAT   Format the output: pretty or json [default: pretty]
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
    else:
        raise UsageError(f"unsupported format {fmt!r}: use pretty or json")
    return 0
