"""Converts the compose file to platform's canonical format.

Usage:
  convert [options] [SERVICE...]

Options:
  --format FORMAT         Output format: yaml, json or kubernetes [default: yaml]
  --services              Print the service names, one per line
  --volumes               Print the volume names, one per line
  --networks              Print the network names, one per line
  --profiles              Print the profile names, one per line
  --images                Print the image names, one per line
  --hash SERVICES         Print "service hash" lines for SERVICES (comma-separated, or "*" for all)
  --environment           Print the environment used for interpolation
  --no-interpolate        Don't interpolate environment variables
  -q, --quiet             Only validate the configuration, don't print anything
  -o, --output PATH       Save to PATH instead of printing (kubernetes: a directory, one file per object)

`convert` is `config` (as in Compose) plus `--format kubernetes`: Deployments, StatefulSets, DaemonSets or
Jobs, Services, PersistentVolumeClaims, ConfigMaps and Secrets for the project, with a warning for each
setting that has no Kubernetes equivalent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from composer.cli.options import GlobalOptions, UsageError
from composer.errors import ComposerError

FORMATS = ("yaml", "json", "kubernetes")


def run(argv: list[str], options: GlobalOptions) -> int:
    from composer.cli.commands import config
    from composer.cli.parsing import parse_command

    args = parse_command(__doc__ or "", argv)
    if args["--format"] not in FORMATS:
        raise UsageError(f"unsupported format {args['--format']!r}: use yaml, json or kubernetes")
    if args["--format"] != "kubernetes":
        return config.render(args, options)
    return _kubernetes(args, options)


def _kubernetes(args: dict[str, Any], options: GlobalOptions) -> int:
    from composer.config_text import to_yaml
    from composer.kube import to_kubernetes
    from composer.presenter import out, warn
    from composer.session import load

    loaded = load(options, services=tuple(args["SERVICE"]), interpolate=not args["--no-interpolate"])
    manifests = to_kubernetes(loaded.project, loaded.working_dir, loaded.environment)
    for line in manifests.warnings:
        warn(line)
    if args["--quiet"]:
        return 0
    documents = [to_yaml(obj) for obj in manifests.objects]
    target = args["--output"]
    if not target:
        out("---\n".join(documents))
        return 0
    folder = Path(target)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for obj, text in zip(manifests.objects, documents, strict=True):
            name = f"{obj['metadata']['name']}-{obj['kind'].lower()}.yaml"
            (folder / name).write_text(text)
    except OSError as exc:
        raise ComposerError(f"cannot write {target}: {exc.strerror}") from None
    return 0
