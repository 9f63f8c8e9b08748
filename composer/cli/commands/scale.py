"""Scale services.

Usage:
  scale [options] SERVICE=REPLICAS...

Options:
  --no-deps     Don't start linked services

As Compose: the named services get that many containers (created, started, or stopped and removed
above it), their dependencies are brought up unless --no-deps; nothing else is recreated.
"""

from __future__ import annotations

from composer.cli.options import GlobalOptions, UsageError

SUPPORTS_DRY_RUN = True


def parse_replicas(items: list[str]) -> dict[str, int]:
    """SERVICE=REPLICAS pairs, with Compose's errors for a missing or non-numeric count."""
    out: dict[str, int] = {}
    for item in items:
        name, sep, count = item.partition("=")
        if not sep:
            raise UsageError(f"invalid scale specifier: {item}")
        try:
            replicas = int(count)
        except ValueError:
            raise UsageError(f"invalid scale specifier: can't parse replica value as int: {item}") from None
        if replicas < 0:
            raise UsageError(f"invalid scale specifier: replicas must not be negative: {item}")
        out[name] = replicas
    return out


def run(argv: list[str], options: GlobalOptions) -> int:
    from composer.cli.commands.up import defaults, up
    from composer.cli.parsing import parse_command
    from composer.session import load

    args = parse_command(__doc__ or "", argv)
    replicas = parse_replicas(args["SERVICE=REPLICAS"])
    project = load(options).project  # up connects to the engine; this only checks the names
    unknown = [name for name in replicas if name not in project.services]
    if unknown:
        raise UsageError(f"no such service: {unknown[0]}")
    up_args = {
        **defaults(),
        "SERVICE": list(replicas),
        "--scale": [f"{name}={n}" for name, n in replicas.items()],
        "--detach": True,
        "--no-deps": bool(args["--no-deps"]),
    }
    return up(up_args, options)
