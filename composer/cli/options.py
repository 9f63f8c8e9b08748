"""Global options shared by every command, parsed once by the entry point (the dataclass lives in
`composer.options`, shared with the Python API)."""

from __future__ import annotations

from collections.abc import Mapping

from composer._typecheck import TYPE_CHECKING
from composer.options import GlobalOptions, UsageError
from composer.presenter import ANSI_MODES

if TYPE_CHECKING:
    from typing import Any

__all__ = ["GlobalOptions", "UsageError", "global_options"]

PROGRESS_MODES = ("auto", "tty", "plain", "json", "quiet")


def global_options(parsed: Mapping[str, Any], environ: Mapping[str, str]) -> GlobalOptions:
    """The global flags docopt parsed, checked."""
    ansi = parsed.get("--ansi") or "auto"
    if ansi not in ANSI_MODES:
        raise UsageError(f"invalid --ansi value {ansi!r}: use one of {', '.join(ANSI_MODES)}")
    progress = parsed.get("--progress") or "auto"
    if progress not in PROGRESS_MODES:
        raise UsageError(f"invalid --progress value {progress!r}: use one of {', '.join(PROGRESS_MODES)}")
    return GlobalOptions(
        files=tuple(parsed.get("--file") or ()),
        project_name=parsed.get("--project-name"),
        project_directory=parsed.get("--project-directory"),
        env_files=tuple(parsed.get("--env-file") or ()),
        profiles=tuple(parsed.get("--profile") or ()),
        ansi=ansi,
        progress=progress,
        host=parsed.get("--host"),
        context=parsed.get("--context"),
        debug=bool(parsed.get("--debug")),
        dry_run=bool(parsed.get("--dry-run")),
        environ=dict(environ),
    )


# The global flags (composer.cli.usage lists them for --help): (takes a value, repeatable)
_LONG: dict[str, tuple[bool, bool]] = {
    "--file": (True, True),
    "--project-name": (True, False),
    "--project-directory": (True, False),
    "--env-file": (True, True),
    "--profile": (True, True),
    "--ansi": (True, False),
    "--progress": (True, False),
    "--host": (True, False),
    "--context": (True, False),
    "--debug": (False, False),
    "--dry-run": (False, False),
    "--help": (False, False),
    "--version": (False, False),
}
_SHORT = {"f": "--file", "p": "--project-name", "H": "--host", "h": "--help", "v": "--version"}


def split_global_args(argv: list[str]) -> dict[str, Any]:
    """The global flags before the command, the command and its arguments, in the shape docopt gave
    (`--file: [...]`, `COMMAND`, `ARGS`...). Parsed by hand as Compose's own flag parser does (a value in the
    next word or after `=`, short flags stacked, a flag given again replaces the value of one that is not
    repeatable, `--` before a command leaves none); docopt took ~3 ms of every command's start for this
    fixed grammar."""
    parsed: dict[str, Any] = {
        name: ([] if repeat else (None if takes else False)) for name, (takes, repeat) in _LONG.items()
    }
    parsed["--ansi"] = parsed["--progress"] = "auto"
    i = 0
    while i < len(argv):
        word = argv[i]
        if word == "--":  # no command can follow: Compose shows its help (the words are its arguments)
            parsed["COMMAND"], parsed["ARGS"] = None, argv[i + 1 :]
            return parsed
        if word.startswith("--"):
            name, eq, value = word.partition("=")
            if name not in _LONG or (eq and not _LONG[name][0]):
                raise _bad_flags(argv)
            if _LONG[name][0] and not eq:
                i += 1
                value = _value(argv, i)
            _set(parsed, name, value)
        elif word.startswith("-") and word != "-":
            j = 1
            while j < len(word):
                name = _SHORT.get(word[j], "")
                if not name:
                    raise _bad_flags(argv)
                if not _LONG[name][0]:
                    _set(parsed, name, "")
                    j += 1
                    continue
                value = word[j + 1 :]
                if not value:
                    i += 1
                    value = _value(argv, i)
                _set(parsed, name, value)
                break
        else:
            break
        i += 1
    parsed["COMMAND"] = argv[i] if i < len(argv) else None
    parsed["ARGS"] = argv[i + 1 :]
    return parsed


def _value(argv: list[str], i: int) -> str:
    """The flag's value in the next word: there must be one, and `--` ends the flags instead."""
    if i == len(argv) or argv[i] == "--":
        raise _bad_flags(argv)
    return argv[i]


def _set(parsed: dict[str, Any], name: str, value: str) -> None:
    takes, repeat = _LONG[name]
    if repeat:
        parsed[name].append(value)
    else:
        parsed[name] = value if takes else True


def _bad_flags(argv: list[str]) -> UsageError:
    bad = [a for a in argv if a.startswith("-")]
    what = f"unknown flag or missing value: {' '.join(bad)}" if bad else "invalid usage"
    return UsageError(what, hint="see 'composer --help'")
