"""The `composer` entry point: global options, command dispatch, and the one error boundary.

Kept import-light on purpose: `composer --help` must not pay for yaml, jsonschema or docker.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from composer import __version__
from composer.cli import commands
from composer.cli.options import UsageError, global_options
from composer.errors import ComposerError
from composer.presenter import error_line

log = logging.getLogger(__name__)

_USAGE = """Define and run multi-container applications.

Usage:
  composer [options] [-f FILE]... [--env-file PATH]... [--profile NAME]... COMMAND [ARGS...]
  composer -h | --help
  composer -v | --version

Options:
  -f, --file FILE               Compose configuration files (repeatable)
  -p, --project-name NAME       Project name
  --project-directory PATH      Alternate working directory (default: the first file's directory)
  --env-file PATH               Alternate environment files (repeatable)
  --profile NAME                Enable a profile (repeatable)
  --ansi MODE                   Control characters: never, always, auto [default: auto]
  --progress MODE               Progress output: auto, tty, plain, json, quiet [default: auto]
  -H, --host HOST               Engine API endpoint (default: $DOCKER_HOST, then the embedded engine)
  --debug                       Show tracebacks and debug logs{dry_run}
  -h, --help                    Show this help
  -v, --version                 Show the version

Commands:
{commands}

Run 'composer COMMAND --help' for more information on a command.
"""
_DRY_RUN_OPTION = "\n  --dry-run                     Show what would be done without doing it"


def _usage() -> tuple[str, dict[str, object]]:
    """The top-level usage listing only the commands that exist (modules are imported for summaries)."""
    loaded = {name: commands.load(name) for name in commands.names()}
    listing = "\n".join(f"  {name:12} {commands.summary(mod)}" for name, mod in loaded.items() if mod)
    dry_run = any(getattr(mod, "SUPPORTS_DRY_RUN", False) for mod in loaded.values())
    doc = _USAGE.replace("{dry_run}", _DRY_RUN_OPTION if dry_run else "").replace("{commands}", listing)
    return doc, dict(loaded)


def _dispatch(argv: list[str], environ: Mapping[str, str]) -> int:
    from docopt import DocoptExit, docopt

    doc, loaded = _usage()
    if not argv:
        sys.stdout.write(doc)
        return 0
    try:
        parsed = docopt(doc, argv, default_help=False, options_first=True)
    except DocoptExit:
        bad = [a for a in argv if a.startswith("-")]
        what = f"unknown flag or missing value: {' '.join(bad)}" if bad else "invalid usage"
        raise UsageError(what, hint="see 'composer --help'") from None
    if parsed["--help"] or (not parsed["COMMAND"] and not parsed["--version"]):
        sys.stdout.write(doc)
        return 0
    if parsed["--version"]:
        sys.stdout.write(f"composer version {__version__}\n")
        return 0
    options = global_options(parsed, environ)
    if options.debug:
        logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(name)s: %(message)s")
    name = parsed["COMMAND"]
    module = loaded.get(name)
    if module is None:
        raise UsageError(f"unknown command: {name!r}; see 'composer --help'")
    if options.dry_run and not getattr(module, "SUPPORTS_DRY_RUN", False):
        raise UsageError(f"'{name}' does not support --dry-run")
    log.debug("command=%s args=%s", name, parsed["ARGS"])
    code: int = module.run([name, *parsed["ARGS"]], options)  # type: ignore[attr-defined]
    return code


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


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Run the CLI; returns the exit status (the console script passes it to sys.exit)."""
    args = list(sys.argv[1:] if argv is None else argv)
    env = os.environ if environ is None else environ
    debug = "--debug" in args  # decided before parsing so even a parser failure can show its traceback
    try:
        return _dispatch(args, env)
    except ComposerError as exc:
        error_line(exc.message, exc.hint)
        return exc.exit_code
    except BrokenPipeError:
        # the reader went away (`composer config | head`): not an error worth a message
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        error_line("interrupted")
        return 130
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except Exception as exc:
        if debug:
            import traceback

            traceback.print_exc()
        error_line(f"internal error: {type(exc).__name__}: {exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
