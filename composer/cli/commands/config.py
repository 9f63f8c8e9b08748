"""Parse, resolve and render the Compose file in canonical form.

Usage:
  config [options] [SERVICE...]

Options:
  --format FORMAT         Output format: yaml or json [default: yaml]
  --services              Print the service names, one per line
  --volumes               Print the volume names, one per line
  --networks              Print the network names, one per line
  --profiles              Print the profile names, one per line
  --images                Print the image names, one per line
  --hash SERVICES         Print "service hash" lines for SERVICES (comma-separated, or "*" for all)
  --environment           Print the environment used for interpolation
  --no-interpolate        Don't interpolate environment variables
  -q, --quiet             Only validate the configuration, don't print anything
  -o, --output FILE       Save to FILE instead of printing
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from composer.cli.options import GlobalOptions, UsageError
from composer.errors import ComposerError

if TYPE_CHECKING:
    from composer.loader.loaded import LoadedProject

FORMATS = ("yaml", "json")


def run(argv: list[str], options: GlobalOptions) -> int:
    from composer.cli.parsing import parse_command

    args = parse_command(__doc__ or "", argv)
    if args["--format"] not in FORMATS:
        raise UsageError(f"unsupported format {args['--format']!r}: use yaml or json")
    return render(args, options)


def render(args: Mapping[str, Any], options: GlobalOptions) -> int:
    """Load the project and print it as the parsed `args` ask (shared with `convert`)."""
    from composer.session import load, paused_gc

    loaded = load(options, services=tuple(args["SERVICE"]), interpolate=not args["--no-interpolate"])
    if args["--quiet"]:
        return 0
    with paused_gc():
        text = _render(args, loaded)
    _write(text, args["--output"])
    return 0


def _render(args: Mapping[str, Any], loaded: LoadedProject) -> str:
    """The text to print; listing flags are checked in the reference's order (the first one set wins)."""
    from composer.config_text import to_json, to_yaml

    canonical: dict[str, Any] = loaded.canonical
    if args["--services"]:
        return _lines(canonical.get("services") or {})
    if args["--volumes"]:
        return _lines(canonical.get("volumes") or {})
    if args["--networks"]:
        return _lines(canonical.get("networks") or {})
    if args["--hash"] is not None:
        return _lines(f"{name} {digest}" for name, digest in _hashes(loaded, args["--hash"]))
    if args["--profiles"]:
        return _lines(sorted(loaded.all_profiles))
    if args["--images"]:
        return _lines(
            _image_name(canonical["name"], name, svc) for name, svc in canonical["services"].items()
        )
    if args["--environment"]:
        return _lines(f"{k}={v}" for k, v in sorted(loaded.environment.items()))
    render = to_json if args["--format"] == "json" else to_yaml
    if args["--no-interpolate"]:
        # The reference prints an uninterpolated model from its generic map form: keys sorted, x-* kept,
        # no empty struct fields.
        return render(_sorted_keys(yaml_view(canonical)))
    # Extension values are plain maps to the reference, printed with sorted keys.
    canonical = {k: (_sorted_keys(v) if str(k).startswith("x-") else v) for k, v in canonical.items()}
    if args["--format"] == "json":
        from composer.loader.normalize import json_view

        text = to_json(json_view(canonical))
    else:
        text = to_yaml(yaml_view(canonical, top_level_order=YAML_TOP_LEVEL))
    # Like the reference, an interpolated model is printed with `$` escaped as `$$`, so the output is
    # itself a valid Compose file that loads back to the same values.
    return text.replace("$", "$$")


def _sorted_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted_keys(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, list):
        return [_sorted_keys(v) for v in value]
    return value


def _lines(items: Any) -> str:
    return "".join(f"{item}\n" for item in items)


def _image_name(project: str, service: str, config: Mapping[str, Any]) -> str:
    """A built service without `image:` gets the reference's default name, project-service."""
    return str(config.get("image") or f"{project}-{service}")


def _hashes(loaded: LoadedProject, selection: str) -> list[tuple[str, str]]:
    from composer.model import service_config_hash

    project = loaded.project
    services: dict[str, Any] = loaded.canonical.get("services") or {}
    names = (
        list(services) if selection.strip() == "*" else [s.strip() for s in selection.split(",") if s.strip()]
    )
    unknown = [n for n in names if n not in services]
    if unknown:
        raise ComposerError(f"no such service: {', '.join(unknown)}")
    return [(name, service_config_hash(project, name)) for name in names]


# The reference's YAML follows its Project struct's field order; its JSON sorts these keys.
YAML_TOP_LEVEL = ("name", "services", "networks", "volumes", "secrets", "configs", "models")


def yaml_view(canonical: Mapping[str, Any], top_level_order: tuple[str, ...] = ()) -> dict[str, Any]:
    """The canonical dict as the reference's YAML shows it: fields its YAML omits when empty are dropped
    (service command/entrypoint null, network ipam {}, deploy placement {}, watch exec without command)
    and fields whose YAML name differs from the JSON one are renamed."""
    first = [k for k in top_level_order if k in canonical]
    view = {k: canonical[k] for k in [*first, *(k for k in canonical if k not in first)]}
    services = {}
    for name, service in (canonical.get("services") or {}).items():
        svc = {k: v for k, v in service.items() if not (k in ("command", "entrypoint") and v is None)}
        deploy = svc.get("deploy")
        if isinstance(deploy, dict) and deploy.get("placement") == {}:
            svc["deploy"] = {k: v for k, v in deploy.items() if k != "placement"}
        if isinstance(svc.get("blkio_config"), dict):
            svc["blkio_config"] = _blkio_yaml(svc["blkio_config"])
        develop = svc.get("develop")
        if isinstance(develop, dict) and isinstance(develop.get("watch"), list):
            watch = [_without_empty_exec(rule) for rule in develop["watch"]]
            svc["develop"] = {**develop, "watch": watch}
        services[name] = svc
    if "services" in canonical:
        view["services"] = services
    if canonical.get("networks"):
        view["networks"] = {
            name: (
                {k: v for k, v in net.items() if not (k == "ipam" and v == {})}
                if isinstance(net, dict)
                else net
            )
            for name, net in canonical["networks"].items()
        }
    return view


def _blkio_yaml(blkio: Mapping[str, Any]) -> dict[str, Any]:
    """Weight and throttle devices carry no JSON tags in the reference (Path/Rate/Weight) but lower-case
    YAML tags."""
    view = dict(blkio)
    for key, value in blkio.items():
        if isinstance(value, list):
            view[key] = [
                {(k.lower() if k in ("Path", "Rate", "Weight") else k): v for k, v in item.items()}
                if isinstance(item, dict)
                else item
                for item in value
            ]
    return view


def _without_empty_exec(rule: Any) -> Any:
    """A watch rule's `exec` hook with no command is omitted from the reference's YAML."""
    if isinstance(rule, dict) and rule.get("exec") == {"command": None}:
        return {k: v for k, v in rule.items() if k != "exec"}
    return rule


def _write(text: str, output: str | None) -> None:
    from composer.presenter import out

    if not output:
        out(text)
        return
    try:
        Path(output).write_text(text if text.endswith("\n") else text + "\n")
    except OSError as exc:
        raise ComposerError(f"cannot write {output}: {exc.strerror}") from None
