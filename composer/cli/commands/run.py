"""Run a one-off command on a service.

Usage:
  run [options] [-e KEY=VAL]... [-l KEY=VAL]... [-p PUBLISH]... [-v VOLUME]... SERVICE [COMMAND] [ARGS...]

Options:
  -d, --detach             Run container in background and print its name
  --name NAME              Assign a name to the container
  --entrypoint CMD         Override the entrypoint of the image
  -e, --env KEY=VAL        Set environment variables (repeatable)
  -l, --label KEY=VAL      Add or override a label (repeatable)
  -u, --user USER          Run as specified username or uid
  -w, --workdir DIR        Working directory inside the container
  --no-deps                Don't start linked services
  --rm                     Automatically remove the container when it exits
  -p, --publish PUBLISH    Publish a container's port(s) to the host (repeatable)
  --service-ports          Run command with all service's ports enabled and mapped to the host
  -v, --volume VOLUME      Bind mount a volume (repeatable)
  -T, --no-TTY             Disable pseudo-TTY allocation (default: a TTY when stdin is a terminal)
  --build                  Build image before starting container
  --quiet-pull             Pull without printing progress information
  --remove-orphans         Remove containers for services not defined in the Compose file
"""

from __future__ import annotations

import secrets
import sys
from typing import TYPE_CHECKING, Any

from composer.cli.options import GlobalOptions
from composer.errors import ComposerError

if TYPE_CHECKING:
    from composer.oneoff import OneOff
    from composer.session import Session


def run(argv: list[str], options: GlobalOptions) -> int:
    from composer.cli.parsing import parse_command
    from composer.oneoff import container_body, prepare
    from composer.session import open_session

    args = parse_command(__doc__ or "", argv, options_first=True)
    service = args["SERVICE"]
    session = open_session(options, load_only=(service,))  # a profiled service named here is enabled
    if service not in session.project.services:
        raise ComposerError(f"no such service: {service}")
    session.engine.api.timeout = None  # an attached one-off session lasts as long as its command
    oneoff = _oneoff(args)
    prepare(session, service, oneoff)
    body = container_body(session, service, oneoff)
    name = args["--name"] or f"{session.name}-{service}-run-{secrets.token_hex(6)}"
    return _run_container(session, name, body, args)


def _oneoff(args: dict[str, Any]) -> OneOff:
    from composer.oneoff import OneOff, split_labels

    detach = bool(args["--detach"])
    return OneOff(
        command=(args["COMMAND"], *args["ARGS"]) if args["COMMAND"] else (),
        entrypoint=args["--entrypoint"],
        env=tuple(args["--env"] or ()),
        labels=split_labels(args["--label"] or ()),
        user=args["--user"],
        workdir=args["--workdir"],
        service_ports=bool(args["--service-ports"]),
        publish=tuple(args["--publish"] or ()),
        volumes=tuple(args["--volume"] or ()),
        detach=detach,
        tty=not args["--no-TTY"] and sys.stdin.isatty() and sys.stdout.isatty(),
        no_deps=bool(args["--no-deps"]),
        remove_orphans=bool(args["--remove-orphans"]),
        build=bool(args["--build"]),
        quiet_pull=bool(args["--quiet-pull"]),
    )


def _run_container(session: Session, name: str, body: dict[str, Any], args: dict[str, Any]) -> int:
    from composer.attach import pump, raw_terminal
    from composer.client import engine_errors
    from composer.oneoff import create, inject
    from composer.presenter import out, warn

    api = session.engine.api
    cid = create(session, args["SERVICE"], name, body, warn=warn)
    try:
        inject(session, args["SERVICE"], name, cid)
        if args["--detach"]:
            with engine_errors(f"starting container {name}"):
                api.start(cid)
            out(name)
            return 0
        tty = bool(body.get("Tty"))
        with engine_errors(f"running container {name}"):
            hijacked = api.attach_socket(cid, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
            api.start(cid)
            if tty:
                with raw_terminal(sys.stdin.fileno()):
                    pump(hijacked, tty=True, send_stdin=True)
            else:
                pump(hijacked, tty=False, send_stdin=True)
            code = int(api.wait(cid)["StatusCode"])
        return code
    finally:
        if args["--rm"] and not args["--detach"]:
            with engine_errors(f"removing container {name}"):
                api.remove_container(cid, force=True, v=True)
