"""Print the public port for a port binding.

Usage:
  port [options] SERVICE PRIVATE_PORT

Options:
  --index INDEX         Index of the container if service has multiple replicas
  --protocol PROTOCOL   tcp or udp [default: tcp]
"""

from __future__ import annotations

from composer.cli.options import GlobalOptions
from composer.errors import ComposerError


def run(argv: list[str], options: GlobalOptions) -> int:
    from composer.cli.commands._common import parse_index
    from composer.cli.parsing import parse_command
    from composer.client import engine_errors
    from composer.presenter import out
    from composer.session import open_session

    args = parse_command(__doc__ or "", argv)
    protocol = args["--protocol"]
    if protocol not in ("tcp", "udp", "sctp"):
        raise ComposerError(f"invalid --protocol value {protocol!r}: use tcp or udp")
    private = args["PRIVATE_PORT"]
    if not private.isdigit() or not 0 < int(private) < 65536:
        raise ComposerError(f"invalid port {private!r}: expected a number from 1 to 65535")
    t = open_session(options, [args["SERVICE"]])
    container = t.container(args["SERVICE"], parse_index(args["--index"]))
    with engine_errors():
        info = t.api.inspect_container(container.id)
    bindings = ((info.get("NetworkSettings") or {}).get("Ports") or {}).get(f"{private}/{protocol}") or []
    if not bindings:
        raise ComposerError(f"no port {private}/{protocol} for container {container.name}")
    first = bindings[0]
    out(f"{first.get('HostIp') or '0.0.0.0'}:{first.get('HostPort')}")
    return 0
