"""composer as the docker CLI's `compose` plugin.

The docker CLI finds plugins in <config dir>/cli-plugins/docker-<name>; it runs one with the single argument
`docker-cli-plugin-metadata` to learn about it (JSON on stdout), and for `docker [global flags] compose ARGS`
it runs it with the whole original command line: `docker-compose [global flags] compose ARGS`. So this entry
point answers the metadata query, turns the docker CLI's global flags into composer's (-H, --context,
--debug) and environment (--config: DOCKER_CONFIG; --tls*: DOCKER_TLS_VERIFY, DOCKER_CERT_PATH), and runs
composer on ARGS.

`install()` writes the entry point: a small shell script that execs this module with the Python composer is
installed in (a pipx venv's, say), so the plugin keeps working whatever PATH the docker CLI runs with.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from composer import __version__
from composer.errors import ComposerError

PLUGIN_NAME = "compose"
METADATA_ARG = "docker-cli-plugin-metadata"
COMPLETE_ARG = "__complete"  # cobra's completion request, which the docker CLI forwards to plugins
SOCKET_ENV = "DOCKER_CLI_PLUGIN_SOCKET"  # set by the docker CLI when it runs a plugin
MARKER = "# docker CLI plugin entry point written by `composer plugin install`"

# The docker CLI's global flags (docker 28): name -> takes a value.
_GLOBAL_FLAGS = {
    "--config": True, "-c": True, "--context": True, "-D": False, "--debug": False, "-H": True,
    "--host": True, "-l": True, "--log-level": True, "--tls": False, "--tlscacert": True, "--tlscert": True,
    "--tlskey": True, "--tlsverify": False,
}
_CANONICAL = {"-c": "--context", "-D": "--debug", "-H": "--host", "-l": "--log-level"}


def metadata() -> dict[str, str]:
    return {
        "SchemaVersion": "0.1.0",
        "Vendor": "composer",
        "Version": f"v{__version__}",
        "ShortDescription": "Docker Compose (composer)",
    }


@dataclass
class Invocation:
    """A `docker-compose [global flags] compose ARGS` command line, as composer runs it."""

    argv: list[str]  # composer's own
    environ: dict[str, str] = field(default_factory=dict)  # additions to the environment


def translate(argv: Sequence[str]) -> Invocation:
    if PLUGIN_NAME not in argv:
        raise ComposerError(f"not run as `docker {PLUGIN_NAME}`: {shlex.join(argv)}")
    flags: list[tuple[str, str | None]] = []
    i = 0
    while i < len(argv) and argv[i] != PLUGIN_NAME:
        arg = argv[i]
        name, eq, inline = arg.partition("=")
        if name not in _GLOBAL_FLAGS:
            raise ComposerError(f"unknown docker CLI flag before '{PLUGIN_NAME}': {arg}")
        value: str | None = None
        if _GLOBAL_FLAGS[name]:
            if eq:
                value = inline
            elif i + 1 < len(argv):
                i += 1
                value = argv[i]
            else:
                raise ComposerError(f"flag needs an argument: {name}")
        flags.append((_CANONICAL.get(name, name), value))
        i += 1
    if i == len(argv):  # `compose` was a flag's value
        raise ComposerError(f"not run as `docker {PLUGIN_NAME}`: {shlex.join(argv)}")
    ours: list[str] = []
    env: dict[str, str] = {}
    certs: list[str] = []
    for name, value in flags:
        if name in ("--host", "--context"):
            ours += [name, str(value)]
        elif name == "--debug" or (name == "--log-level" and value == "debug"):
            ours.append("--debug")
        elif name == "--config":
            env["DOCKER_CONFIG"] = str(value)
        elif name in ("--tls", "--tlsverify"):
            env["DOCKER_TLS_VERIFY"] = "1"
        elif name in ("--tlscacert", "--tlscert", "--tlskey"):
            certs.append(str(value))
    if certs:  # the Engine client reads ca.pem, cert.pem, key.pem from one folder
        folders = {os.path.dirname(os.path.abspath(c)) for c in certs}
        names = {os.path.basename(c) for c in certs}
        if len(folders) > 1 or not names <= {"ca.pem", "cert.pem", "key.pem"}:
            raise ComposerError("--tlscacert/--tlscert/--tlskey must name ca.pem, cert.pem and key.pem "
                                "in one directory for composer")
        env["DOCKER_CERT_PATH"] = folders.pop()
    return Invocation([*ours, *argv[i + 1 :]], env)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args == [METADATA_ARG]:
        sys.stdout.write(json.dumps(metadata(), indent=2) + "\n")
        return 0
    if args[:1] == [COMPLETE_ARG]:
        return _complete(args[1:])
    from composer.cli.main import main as composer_main
    from composer.presenter import error_line

    try:
        run = translate(args)
    except ComposerError as exc:
        error_line(exc.message, exc.hint)
        return 1
    watch_cli_socket(os.environ.get(SOCKET_ENV, ""))
    return composer_main(run.argv, {**os.environ, **run.environ})


def _complete(args: list[str]) -> int:
    """`docker compose <TAB>`: the docker CLI asks the plugin in cobra's protocol (`__complete compose
    WORD... CURRENT`): candidates, one a line, then `:<directive>` (4: no file names; 0: the shell's own
    completion, for an option's value)."""
    from composer.cli.completion import complete

    words = args[args.index(PLUGIN_NAME) + 1 :] if PLUGIN_NAME in args else []
    try:
        found = complete(words, os.environ) if words else []
    except (Exception, SystemExit):
        found = []
    sys.stdout.write("".join(f"{c}\n" for c in found) + (":4\n" if found else ":0\n"))
    return 0


def watch_cli_socket(address: str) -> None:
    """Connect to the docker CLI's plugin socket: when the CLI is told to stop (SIGINT/SIGTERM while its
    output is not a terminal, so no Ctrl-C reaches us) it closes the connection, and we take that as our
    own Ctrl-C: a graceful stop, as Compose does."""
    if not address:
        return
    import signal
    import socket
    import threading

    path = "\0" + address[1:] if address.startswith("@") else address  # "@name": the abstract namespace
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(path)
    except OSError:
        conn.close()
        return

    def wait() -> None:
        with contextlib.suppress(OSError):
            while conn.recv(512):  # the CLI sends nothing: any end of the connection is the request
                pass
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=wait, name="docker-cli-socket", daemon=True).start()


def entry_point(environ: Mapping[str, str]) -> Path:
    from composer.dockercli.config import config_dir

    return config_dir(environ) / "cli-plugins" / f"docker-{PLUGIN_NAME}"


def script(python: str) -> str:
    return f'#!/bin/sh\n{MARKER}\nexec {shlex.quote(python)} -m composer.dockercli.plugin "$@"\n'


def install(environ: Mapping[str, str], *, force: bool = False) -> Path:
    from composer.dockercli.config import write_atomic

    path = entry_point(environ)
    if path.exists() and not force and not _ours(path):
        raise ComposerError(f"{path} exists and is not composer's", hint="remove it, or use --force")
    write_atomic(path, script(sys.executable).encode(), mode=0o755)
    return path


def uninstall(environ: Mapping[str, str]) -> Path | None:
    path = entry_point(environ)
    if not path.exists():
        return None
    if not _ours(path):
        raise ComposerError(f"{path} is not composer's: left in place")
    path.unlink()
    return path


def _ours(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return MARKER.encode() in f.read(4096)
    except OSError:
        return False


if __name__ == "__main__":
    sys.exit(main())
