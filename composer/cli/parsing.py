"""A command's own usage parsed with docopt: `-h/--help` prints it, bad usage is one UsageError line.

docopt parses the usage text on every call (~0.5 ms for `ls`, ~3.7 ms for `up`'s forty flags) after its
own import (~3 ms): a third of a no-change `up`. What a command line gives depends only on the usage text
and the words, so the result of a command line made only of the usage's own flag words (`up -d`, `ps`,
`down --remove-orphans`) is kept between runs (composer.cachefiles, as the loaded project is). A line
with any other word (a value, a service name, an argument passed through) is parsed each time and never
written to disk: it may carry a secret.
"""

from __future__ import annotations

import marshal
import os
import re
import sys
from collections.abc import Sequence

from composer import TYPE_CHECKING, __version__, cachefiles
from composer._codecache import cache_dir
from composer.cli.options import UsageError

if TYPE_CHECKING:
    from typing import Any

_MAGIC = b"composer-usage\x01"
_MAX_ENTRIES = 256
_FLAG = re.compile(r"--?[A-Za-z][A-Za-z0-9-]*")


def parse_command(doc: str, argv: Sequence[str], *, options_first: bool = False) -> dict[str, Any]:
    """docopt for a command's own usage (argv[0] is the command name): `-h/--help` prints it, bad usage
    becomes one UsageError line. Commands that pass arguments through (exec, run) set options_first, so
    a `-h` after the first positional belongs to them, not to us."""
    args = list(argv[1:])
    ours = args[: args.index("--")] if "--" in args else args
    if options_first:
        positional = next((i for i, a in enumerate(ours) if not a.startswith("-")), len(ours))
        ours = ours[:positional]
    if "-h" in ours or "--help" in ours:
        sys.stdout.write(doc.strip() + "\n")
        raise SystemExit(0)
    key = (__version__, doc, tuple(args), options_first) if _keep(doc, args) else None
    if key is not None and (kept := _read(key)) is not None:
        return kept
    from docopt import DocoptExit, docopt

    try:
        parsed = dict(docopt(doc, args, default_help=False, options_first=options_first))
    except DocoptExit as exc:
        text = str(exc).strip()
        raise UsageError(
            f"invalid arguments for '{argv[0]}': {' '.join(argv[1:]) or '(none)'}",
            hint=text.splitlines()[-1].strip() if text else None,
        ) from None
    if key is not None:
        _store(key, parsed)
    return parsed


def _keep(doc: str, args: list[str]) -> bool:
    """Whether this line's result is kept: every word is one of the usage's own flags, whole (no value
    attached, nothing of the user's), and the cache is not turned off (COMPOSER_NO_USAGE_CACHE=1)."""
    if os.environ.get("COMPOSER_NO_USAGE_CACHE"):
        return False
    return all(
        _FLAG.fullmatch(word) and re.search(rf"(?<![\w-]){re.escape(word)}(?![\w=-])", doc) for word in args
    )


def _entry_path(key: tuple[Any, ...]) -> str:
    return cachefiles.entry_path(os.path.join(cache_dir(), "usage"), key)


def _read(key: tuple[Any, ...]) -> dict[str, Any] | None:
    body = cachefiles.read(_entry_path(key), _MAGIC)
    if body is None:
        return None
    try:
        stored_key, parsed = marshal.loads(body)
    except (EOFError, ValueError, TypeError):
        return None
    return parsed if stored_key == key and isinstance(parsed, dict) else None


def _store(key: tuple[Any, ...], parsed: dict[str, Any]) -> None:
    try:
        body = marshal.dumps((key, parsed))
    except ValueError:
        return
    cachefiles.write(
        _entry_path(key), _MAGIC, body, cache_home=os.path.dirname(cache_dir()), limit=_MAX_ENTRIES
    )
