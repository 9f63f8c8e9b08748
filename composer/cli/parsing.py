"""A command's own usage parsed with docopt: `-h/--help` prints it, bad usage is one UsageError line."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from composer.cli.options import UsageError


def parse_command(doc: str, argv: Sequence[str], *, options_first: bool = False) -> dict[str, Any]:
    """docopt for a command's own usage (argv[0] is the command name): `-h/--help` prints it, bad usage
    becomes one UsageError line. Commands that pass arguments through (exec, run) set options_first, so
    a `-h` after the first positional belongs to them, not to us."""
    from docopt import DocoptExit, docopt

    args = list(argv[1:])
    ours = args[: args.index("--")] if "--" in args else args
    if options_first:
        positional = next((i for i, a in enumerate(ours) if not a.startswith("-")), len(ours))
        ours = ours[:positional]
    if "-h" in ours or "--help" in ours:
        sys.stdout.write(doc.strip() + "\n")
        raise SystemExit(0)
    try:
        return dict(docopt(doc, args, default_help=False, options_first=options_first))
    except DocoptExit as exc:
        text = str(exc).strip()
        raise UsageError(
            f"invalid arguments for '{argv[0]}': {' '.join(argv[1:]) or '(none)'}",
            hint=text.splitlines()[-1].strip() if text else None,
        ) from None
