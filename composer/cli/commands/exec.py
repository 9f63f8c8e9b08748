"""Execute a command in a running container.

Usage:
  exec [options] [-e KEY=VAL]... SERVICE COMMAND [ARGS...]

Options:
  -d, --detach            Detached mode: run the command in the background
  -e, --env KEY=VAL       Set environment variables (repeatable)
  --index INDEX           Index of the container if the service has multiple replicas [default: 1]
  --privileged            Give extended privileges to the process
  -T, --no-TTY            Disable pseudo-TTY allocation (default: a TTY when stdin is a terminal)
  -u, --user USER         Run the command as this user
  -w, --workdir DIR       Path to workdir directory for this command
"""

from __future__ import annotations

import contextlib
import shutil
import sys

from composer.cli.options import GlobalOptions


def run(argv: list[str], options: GlobalOptions) -> int:
    from composer.attach import pump, raw_terminal
    from composer.cli.commands._common import parse_index
    from composer.cli.parsing import parse_command
    from composer.client import engine_errors
    from composer.session import open_session

    args = parse_command(__doc__ or "", argv, options_first=True)
    service = args["SERVICE"]
    t = open_session(options, [service], streaming=True)
    container = t.container(service, parse_index(args["--index"]))
    tty = not args["--no-TTY"] and sys.stdin.isatty() and sys.stdout.isatty()
    detach = bool(args["--detach"])
    command = [args["COMMAND"], *args["ARGS"]]
    with engine_errors():
        exec_id = t.api.exec_create(
            container.id,
            command,
            stdin=not detach,
            stdout=not detach,
            stderr=not detach,
            tty=tty,
            privileged=bool(args["--privileged"]),
            user=args["--user"] or "",
            environment=list(args["--env"] or ()),
            workdir=args["--workdir"],
        )["Id"]
        if detach:
            t.api.exec_start(exec_id, detach=True)
            return 0
        hijacked = t.api.exec_start(exec_id, tty=tty, socket=True)
        session = raw_terminal(sys.stdin.fileno()) if tty else contextlib.nullcontext()
        with session:
            if tty:
                size = shutil.get_terminal_size()
                with contextlib.suppress(Exception):  # a resize is a nicety, not a reason to fail
                    t.api.exec_resize(exec_id, height=size.lines, width=size.columns)
            pump(hijacked, tty=tty, send_stdin=True)
        code = t.api.exec_inspect(exec_id).get("ExitCode")
    return int(code or 0)
