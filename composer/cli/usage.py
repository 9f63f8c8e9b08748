"""The top-level usage text: the global options and the commands that exist (with their summaries)."""

from __future__ import annotations

from composer.cli import commands

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
  -H, --host HOST               Engine API endpoint (default: $DOCKER_HOST, then the docker context)
  --context NAME                Docker context to use (default: $DOCKER_CONTEXT, then config.json's)
  --debug                       Show tracebacks and debug logs{dry_run}
  -h, --help                    Show this help
  -v, --version                 Show the version

Commands:
{commands}

Run 'composer COMMAND --help' for more information on a command.
"""
_DRY_RUN_OPTION = "\n  --dry-run                     Show what would be done without doing it"


def _usage() -> str:
    """The top-level usage listing only the commands that exist (summaries read without importing them)."""
    listed = [item for name in commands.names() if (item := commands.listing(name)) is not None]
    text = "\n".join(f"  {item.name:12} {item.summary}" for item in listed)
    dry_run = any(item.supports_dry_run for item in listed)
    return _USAGE.replace("{dry_run}", _DRY_RUN_OPTION if dry_run else "").replace("{commands}", text)
