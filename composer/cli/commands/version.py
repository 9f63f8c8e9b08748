"""Show the composer version information.

Usage:
  version [--format FORMAT] [--short]

Options:
  -f, --format FORMAT   Format the output. Values: [pretty | json], or a Go template ({{.Version}}).
                        [default: pretty]
  --short               Shows only composer's version number
"""

from __future__ import annotations

from composer import __version__
from composer._typecheck import TYPE_CHECKING

if TYPE_CHECKING:
    from composer.cli.options import GlobalOptions

PRODUCT = "composer"


def pretty() -> str:
    """What `version` and `--version` print, in Compose's words ("Docker Compose version v2.40.3")."""
    return f"{PRODUCT} version v{__version__}"


def run(argv: list[str], options: GlobalOptions) -> int:
    import json

    from composer.cli.parsing import parse_command
    from composer.presenter import out

    args = parse_command(__doc__ or "", argv)
    if args["--short"]:
        out(__version__)
    elif args["--format"] == "json":
        out(json.dumps({"version": f"v{__version__}"}, separators=(",", ":")))
    elif "{{" in args["--format"]:  # a Go template over the same fields as json
        from composer.cli.formatting import Columns, render
        from composer.gotemplate import Record

        version = f"v{__version__}"
        info = Record("version", {"version": version}, {"Version": lambda: version})
        out(render(args["--format"], [info], Columns(default="{{.Version}}", titles={"Version": "VERSION"})))
    else:  # Compose prints the pretty form for any other value too
        out(pretty())
    return 0
