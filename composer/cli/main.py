"""The `composer` entry point: global options, command dispatch, and the one error boundary.

Kept import-light on purpose: `composer --help`, `-v` and `version` are answered before docopt, typing or
dataclasses are imported (together ~15 ms of a ~35 ms start), and no command pays for yaml, jsonschema
or an engine client it does not use.
"""

from __future__ import annotations

import os
import sys

from composer._typecheck import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import NoReturn

__all__ = ["console", "main"]


def _answer_at_once(argv: list[str]) -> str | None:
    """What `composer`, `--help`, `-v` and `version` print: they depend on nothing but the package."""
    if argv in ([], ["-h"], ["--help"]):
        from composer.cli.usage import _usage

        return _usage()
    if argv in (["-v"], ["--version"], ["version"]):
        from composer.cli.commands.version import pretty

        return pretty() + "\n"
    return None


def _dispatch(argv: list[str], environ: Mapping[str, str]) -> int:
    answer = _answer_at_once(argv)
    if answer is not None:
        sys.stdout.write(answer)
        return 0
    from composer._codecache import install as install_code_cache
    from composer._deferred import defer

    defer("inspect")  # imported by dataclasses, used only for a class without a docstring
    install_code_cache()  # before the first of composer's dataclasses is made
    from composer.cli import commands
    from composer.cli.options import UsageError, global_options, split_global_args

    parsed = split_global_args(argv)
    if parsed["--help"] or (not parsed["COMMAND"] and not parsed["--version"]):
        from composer.cli.usage import _usage

        sys.stdout.write(_usage())
        return 0
    if parsed["--version"]:
        from composer.cli.commands.version import pretty

        sys.stdout.write(pretty() + "\n")
        return 0
    options = global_options(parsed, environ)
    if options.debug:
        import logging  # only here: importing it costs ~3 ms of every command's start

        logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(name)s: %(message)s")
        logging.getLogger(__name__).debug("command=%s args=%s", parsed["COMMAND"], parsed["ARGS"])
    name = parsed["COMMAND"]
    module = commands.load(name)
    if module is None:
        raise UsageError(f"unknown command: {name!r}; see 'composer --help'")
    if options.dry_run and not getattr(module, "SUPPORTS_DRY_RUN", False):
        raise UsageError(f"'{name}' does not support --dry-run")
    code: int = module.run([name, *parsed["ARGS"]], options)
    return code


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Run the CLI; returns the exit status (the console script passes it to sys.exit)."""
    args = list(sys.argv[1:] if argv is None else argv)
    env = os.environ if environ is None else environ
    debug = "--debug" in args  # decided before parsing so even a parser failure can show its traceback
    if args[:1] == ["__complete"]:  # the shell completion scripts' hidden helper (composer.cli.completion)
        from composer.cli.completion import main as complete

        return complete(args[1:], env)
    try:
        return _dispatch(args, env)
    except BrokenPipeError:
        # the reader went away (`composer config | head`): not an error worth a message
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        from composer.presenter import error_line

        error_line("interrupted")
        return 130
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except Exception as exc:
        return _failed(exc, debug)


def _failed(exc: Exception, debug: bool) -> int:
    """The one line (and exit status) for an error: the user's own mistakes as composer words them,
    anything else as an internal error (its traceback with --debug)."""
    from composer.errors import ComposerError
    from composer.presenter import error_line

    if isinstance(exc, ComposerError):
        error_line(exc.message, exc.hint)
        return exc.exit_code
    if debug:
        import traceback

        traceback.print_exc()
    error_line(f"internal error: {type(exc).__name__}: {exc}")
    return 1


def console() -> NoReturn:
    """The `composer` command (the console script, `python -m composer.cli.main`): `main()`, then exit."""
    leave(main())


def leave(code: int) -> NoReturn:
    """Exit without the interpreter's teardown: freeing every module and object one at a time is ~10 ms of
    a ~55 ms `ps`, for memory the kernel takes back at once. Exit handlers still run (the dataclass code
    cache, logging) and the standard streams are flushed. While another thread is alive, or when a stream
    cannot be flushed, the ordinary exit does what it always does (waits for the thread, reports)."""
    threading = sys.modules.get("threading")  # not imported: no thread was started
    if threading is not None and threading.active_count() > 1:
        sys.exit(code)
    import atexit

    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        sys.exit(code)
    os._exit(code)


if __name__ == "__main__":
    console()
