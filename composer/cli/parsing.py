"""A command's own usage parsed with docopt: `-h/--help` prints it, bad usage is one UsageError line.

docopt parses the usage text on every call (~0.5 ms for `ls`, ~3.7 ms for `up`'s forty flags) after its
own import (~3 ms, with `typing`): a third of a no-change `up`. What a command line gives depends only on
the usage text and the line's form, so that is kept between runs (composer.cachefiles, as the loaded
project is). The form is the line with every word that is not a word of the usage text itself (a value,
a service name, an argument passed through) replaced by a placeholder naming its position: the kept
result holds placeholders where the words went, and is filled with this line's words. Nothing the user
typed is written to disk but words the usage text already contains. A line with a dash word the usage
does not know (`-t10`, `--tail=5`, a mistake) is parsed each time.

Why the form parses as the line does: docopt tells words apart only by a leading dash (kept verbatim
here), `--` (kept) and the usage's literal command words (kept: they are words of the usage); a
placeholder is a positional word like the one it stands for and equals no literal.
"""

from __future__ import annotations

import marshal
import os
import re
import sys
from collections.abc import Sequence

from composer import __version__, cachefiles
from composer._codecache import cache_dir
from composer._typecheck import TYPE_CHECKING
from composer.cli.options import UsageError

if TYPE_CHECKING:
    from typing import Any

_MAGIC = b"composer-usage\x02"
_MAX_ENTRIES = 256
_SLOT = "\x00"  # a placeholder is _SLOT + the word's index: no word of a usage text starts with it


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
    form = _form(doc, args)
    key = (__version__, doc, tuple(form), options_first) if form is not None else None
    if key is not None and (kept := _read(key)) is not None:
        return _filled(kept, args)
    from docopt import DocoptExit, docopt

    try:
        parsed = dict(
            docopt(doc, args if form is None else form, default_help=False, options_first=options_first)
        )
    except DocoptExit as exc:
        text = str(exc).strip()
        raise UsageError(
            f"invalid arguments for '{argv[0]}': {' '.join(argv[1:]) or '(none)'}",
            hint=text.splitlines()[-1].strip() if text else None,
        ) from None
    if key is None:
        return parsed
    _store(key, parsed)
    return _filled(parsed, args)


def _form(doc: str, args: list[str]) -> list[str] | None:
    """The line's form (see above), or None when it is not to be kept (or the cache is turned off:
    COMPOSER_NO_USAGE_CACHE=1)."""
    if os.environ.get("COMPOSER_NO_USAGE_CACHE"):
        return None
    known = _words(doc)
    form = []
    for i, word in enumerate(args):
        if word in known or word == "--":
            form.append(word)
        elif word.startswith("-"):
            return None
        else:
            form.append(f"{_SLOT}{i}")
    return form


def _words(doc: str) -> frozenset[str]:
    """The usage text's own words: flags (`-d`, `--detach`), literals and names (`ls`, `SERVICE`)."""
    return frozenset(re.findall(r"[\w-]+", doc))


def _filled(parsed: dict[str, Any], args: list[str]) -> dict[str, Any]:
    """The result for this line: each placeholder replaced by the word it stands for."""
    return {key: _fill(value, args) for key, value in parsed.items()}


def _fill(value: Any, args: list[str]) -> Any:
    if isinstance(value, str) and value.startswith(_SLOT):
        return args[int(value[1:])]
    if isinstance(value, list):
        return [_fill(v, args) for v in value]
    return value


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
    home = os.path.dirname(cache_dir())
    cachefiles.write(_entry_path(key), _MAGIC, body, cache_home=home, limit=_MAX_ENTRIES)
