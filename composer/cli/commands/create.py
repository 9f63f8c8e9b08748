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
    from composer.cli.commands.up import up
    from composer.cli.main import parse_command

    args = parse_command(__doc__ or "", argv)
    args.update(
        {
            "--detach": True,
            "--no-start": True,
            "--no-deps": False,
            "--wait": False,
            "--wait-timeout": None,
            "--abort-on-container-exit": False,
            "--abort-on-container-failure": False,
            "--exit-code-from": None,
            "--attach": [],
            "--no-attach": [],
            "--timeout": None,
            "--no-color": False,
            "--no-log-prefix": False,
        }
    )
    return up(args, options)
