"""Manage the embedded engine (composer-engine).

Usage:
  engine start [--no-seed]
  engine stop
  engine status
  engine logs [-f] [--tail N]
  engine install [--print] [--unit-dir DIR] [--] [ENGINE_FLAG...]
  engine uninstall [--unit-dir DIR]
  engine context [--use]

Options:
  --no-seed       Don't import busybox:latest from the host's busybox-static when the engine lacks it
  -f, --follow    Follow the log output
  --tail N        Number of lines to show from the end of the log [default: all]
  --print         Print the systemd units instead of writing them
  --unit-dir DIR  Where the units go [default: /etc/systemd/system]
  --use           Also make it the docker CLI's current context (as `docker context use composer`)

`install` writes composer-engine.socket and composer-engine.service (socket activation, Type=notify,
KillMode=process so containers outlive engine restarts) and, when systemd manages this machine, enables
them; ENGINE_FLAGs after `--` are added to the daemon's command line (e.g. -- --log-opt max-size=10m).
`uninstall` disables and removes them; a running engine and its containers are left alone.

The embedded engine listens on /run/composer/engine.sock and keeps its state in /var/lib/composer
(COMPOSER_ENGINE_ROOT=<dir> moves both under one directory). Other commands start it on demand.
`engine context` registers it as the docker context "composer" ($DOCKER_CONFIG or ~/.docker), so
`docker context use composer` points the docker CLI (and Docker Compose) at it.
"""

from __future__ import annotations

import sys
import time

from composer.cli.options import GlobalOptions, UsageError

CONTEXT_NAME = "composer"


def run(argv: list[str], options: GlobalOptions) -> int:
    from composer.cli.parsing import parse_command
    from composer.client import ping
    from composer.embedded import places, seed_busybox, start_embedded_engine, stop_embedded_engine
    from composer.presenter import out

    args = parse_command(__doc__ or "", argv)
    where = places(options.environ)
    if args["start"]:
        if ping(where.host, options.environ):
            out(f"The embedded engine is already running at {where.host}")
        else:
            start_embedded_engine(announce=False, environ=options.environ)
            out(f"Started the embedded engine at {where.host} (log: {where.log_path})")
        if not args["--no-seed"] and seed_busybox(where.host, options.environ):
            out("Imported busybox:latest from the host's busybox-static")
        return 0
    if args["stop"]:
        if stop_embedded_engine(options.environ):
            out("Stopped the embedded engine (its containers keep running)")
        else:
            out("The embedded engine is not running")
        return 0
    if args["status"]:
        if ping(where.host, options.environ):
            out(f"running at {where.host} (data: {where.data_root}, log: {where.log_path})")
            return 0
        out(f"not running (socket {where.socket})")
        return 3  # as `systemctl status`: 3 = not running
    if args["context"]:
        return _register_context(where.host, bool(args["--use"]), options)
    if args["install"] or args["uninstall"]:
        return _units(args, where)
    return _logs(where.log_path, args["--follow"], args["--tail"])


def _register_context(host: str, use: bool, options: GlobalOptions) -> int:
    from composer.dockercli import config, contexts
    from composer.presenter import out

    contexts.write(CONTEXT_NAME, host, "composer embedded engine", options.environ)
    out(f'Docker context "{CONTEXT_NAME}" points at {host}')
    if use:
        config.set_current_context(options.environ, CONTEXT_NAME)
        out(f'Current context is now "{CONTEXT_NAME}"')
    return 0


def _units(args: dict[str, object], where: object) -> int:
    from pathlib import Path

    from composer import service_units
    from composer.embedded import EmbeddedPlaces
    from composer.presenter import out

    assert isinstance(where, EmbeddedPlaces)
    unit_dir = Path(str(args["--unit-dir"]))
    # systemd is told only about units in its own directory on a machine it manages
    manage = service_units.systemd_running() and unit_dir == service_units.DEFAULT_UNIT_DIR
    if args["uninstall"]:
        removed = service_units.uninstall(unit_dir, manage=manage)
        for path in removed:
            out(f"Removed {path}")
        if not removed:
            out(f"No composer-engine units in {unit_dir}")
        return 0
    flags = [str(f) for f in args["ENGINE_FLAG"] or []]  # type: ignore[attr-defined]
    units = service_units.render(where, flags)
    if args["--print"]:
        out("\n".join(f"# {unit_dir / u.name}\n{u.text}" for u in units).rstrip("\n"))
        return 0
    for path in service_units.install(units, unit_dir, manage=manage):
        out(f"Wrote {path}")
    if manage:
        out(
            f"Enabled {service_units.SOCKET} and {service_units.SERVICE}; start now with: "
            f"systemctl start {service_units.SOCKET} {service_units.SERVICE}"
        )
    else:
        out(f"Next: systemctl daemon-reload && systemctl enable --now {service_units.SOCKET}")
    from composer.embedded import running_pid

    pid = running_pid(where)
    if pid is not None:  # its socket is the one the socket unit will own
        out(f"An engine (pid {pid}) runs outside systemd: stop it first with `composer engine stop`")
    return 0


def _logs(path: object, follow: bool, tail: str) -> int:
    from pathlib import Path

    from composer.errors import ComposerError

    log_path = Path(str(path))
    if tail != "all" and not tail.isdigit():
        raise UsageError(f"invalid --tail {tail!r}: use a number or 'all'")
    try:
        handle = log_path.open("rb")
    except OSError as exc:
        raise ComposerError(f"cannot read the engine log {log_path}: {exc.strerror}") from None
    with handle:
        data = handle.read()
        text = data.decode(errors="replace").splitlines(keepends=True)
        if tail != "all":
            text = text[-int(tail) :] if int(tail) else []
        sys.stdout.write("".join(text))
        sys.stdout.flush()
        while follow:
            chunk = handle.read()
            if chunk:
                sys.stdout.write(chunk.decode(errors="replace"))
                sys.stdout.flush()
            else:
                time.sleep(0.2)
    return 0
