"""Creates containers for a service.

Usage:
  create [options] [--scale SERVICE=NUM]... [SERVICE...]

Options:
  --build                 Build images before starting containers
  --no-build              Don't build an image, even if it's missing
  --pull POLICY           Pull image before running (always, missing, never, build)
  --force-recreate        Recreate containers even if their configuration and image haven't changed
  --no-recreate           If containers already exist, don't recreate them
  --remove-orphans        Remove containers for services not defined in the Compose file
  --scale SERVICE=NUM     Scale SERVICE to NUM instances
  --quiet-pull            Pull without printing progress information
  --progress MODE         Progress output: auto, tty, plain, quiet (default: the global --progress)
"""

from __future__ import annotations

from composer.cli.options import GlobalOptions

SUPPORTS_DRY_RUN = True


def run(argv: list[str], options: GlobalOptions) -> int:
    from composer.cli.commands.up import defaults, up
    from composer.cli.parsing import parse_command

    args = {**defaults(), **parse_command(__doc__ or "", argv), "--detach": True, "--no-start": True}
    return up(args, options)
