"""Install composer as the docker CLI's `docker compose` plugin.

Usage:
  plugin install [--force]
  plugin uninstall

Options:
  --force   Replace a docker-compose plugin that composer did not write

`plugin install` writes <$DOCKER_CONFIG or ~/.docker>/cli-plugins/docker-compose, so `docker compose ...`
runs composer with the docker CLI's global flags (-H, --context, --config, --debug) and its context.
"""

from __future__ import annotations

from composer.cli.options import GlobalOptions


def run(argv: list[str], options: GlobalOptions) -> int:
    from composer.cli.parsing import parse_command
    from composer.dockercli import plugin
    from composer.presenter import out

    args = parse_command(__doc__ or "", argv)
    if args["install"]:
        path = plugin.install(options.environ, force=bool(args["--force"]))
        out(f"Installed the docker CLI plugin at {path}: `docker compose` now runs composer")
        return 0
    removed = plugin.uninstall(options.environ)
    out(f"Removed {removed}" if removed else f"No plugin at {plugin.entry_point(options.environ)}")
    return 0
