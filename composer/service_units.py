"""systemd units for running composer-engine as a system service (`composer engine install`).

Two units, as dockerd ships them: `composer-engine.socket` owns the API socket (so clients can connect while
the engine starts or restarts: systemd queues them), and `composer-engine.service` runs the daemon with
`-H fd://` (engine.systemd takes the socket) and `Type=notify` (ready once containers are restored).
`KillMode=process`: stopping or restarting the service signals only the daemon; every container's monitor
lives in the service's cgroup too, and must outlive it, as containers outlive an engine restart.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from composer.embedded import EmbeddedPlaces
from composer.errors import ComposerError

SERVICE = "composer-engine.service"
SOCKET = "composer-engine.socket"
DEFAULT_UNIT_DIR = Path("/etc/systemd/system")


@dataclass(frozen=True)
class Unit:
    name: str
    text: str


def engine_command() -> tuple[list[str], str | None]:
    """How systemd should start the engine this composer belongs to, and the PYTHONPATH it needs (None:
    none). An installed package (a venv or a system install): its `composer-engine` script beside this
    interpreter, so the unit follows an in-place upgrade of the package. A checkout: this interpreter
    running the checkout's engine package."""
    root = _package_root()
    script = Path(sys.executable).parent / "composer-engine"
    if root is None and script.is_file() and os.access(script, os.X_OK):
        return [str(script)], None
    return [sys.executable, "-m", "engine.daemon"], None if root is None else str(root)


def _package_root() -> Path | None:
    """None when this interpreter, started cleanly, imports the same engine package we run with; else the
    directory that holds ours (a checkout run with `python3 -m composer.cli.main`)."""
    import importlib.util

    spec = importlib.util.find_spec("engine")  # where it is, without importing it (composer uses the API)
    if spec is None or spec.origin is None:
        return None
    root = Path(spec.origin).resolve().parent.parent
    probe = subprocess.run(
        [sys.executable, "-I", "-c", "import engine, sys; sys.stdout.write(engine.__file__)"],
        cwd="/",
        capture_output=True,
        text=True,
    )
    if probe.returncode == 0 and Path(probe.stdout).resolve().parent.parent == root:
        return None
    return root


def _exec_line(argv: list[str]) -> str:
    # systemd's ExecStart= quoting is close to the shell's for plain words; '%' and '$' are specifiers there
    return " ".join(shlex.quote(a).replace("%", "%%").replace("$", "$$") for a in argv)


def render(where: EmbeddedPlaces, engine_args: list[str]) -> list[Unit]:
    """The socket and service units for an engine on `where`'s socket and roots, with extra daemon flags."""
    command, pythonpath = engine_command()
    argv = [
        *command,
        "-H",
        "fd://",
        "--data-root",
        str(where.data_root),
        "--exec-root",
        str(where.exec_root),
        *engine_args,
    ]
    environment = f"Environment={_exec_line(['PYTHONPATH=' + pythonpath])}\n" if pythonpath else ""
    socket_unit = f"""\
[Unit]
Description=composer-engine API socket
PartOf={SERVICE}

[Socket]
ListenStream={where.socket}
SocketMode=0660
SocketUser=root
SocketGroup=root
DirectoryMode=0755

[Install]
WantedBy=sockets.target
"""
    service_unit = f"""\
[Unit]
Description=composer-engine container engine (Docker Engine API)
# networking and the firewall first: the engine adds its own nftables rules for published ports
After=network-online.target nftables.service firewalld.service {SOCKET}
Wants=network-online.target
Requires={SOCKET}
StartLimitIntervalSec=60
StartLimitBurst=3

[Service]
Type=notify
{environment}ExecStart={_exec_line(argv)}
# containers keep running when the engine stops: only the daemon is signalled, monitors stay
KillMode=process
Restart=always
RestartSec=2
TimeoutStartSec=120
TimeoutStopSec=60
# containers inherit these: no cap below the kernel's
LimitNOFILE=1048576
LimitNPROC=infinity
LimitCORE=infinity
TasksMax=infinity
Delegate=yes
# the engine should be the last thing the OOM killer picks, after the containers
OOMScoreAdjust=-500

[Install]
WantedBy=multi-user.target
"""
    return [Unit(SOCKET, socket_unit), Unit(SERVICE, service_unit)]


def systemd_running() -> bool:
    """sd_booted(3): systemd is PID 1 and manages this machine."""
    return Path("/run/systemd/system").is_dir()


def _systemctl(*args: str) -> None:
    proc = subprocess.run(["systemctl", *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise ComposerError(f"systemctl {' '.join(args)} failed: {proc.stderr.strip()}")


def install(units: list[Unit], unit_dir: Path, *, manage: bool) -> list[Path]:
    """Write the units (atomically, mode 0644) and, when `manage` (systemd runs and the units went to its
    directory), reload systemd and enable both units. Returns the files written."""
    try:
        unit_dir.mkdir(parents=True, exist_ok=True)
        written = []
        for unit in units:
            path = unit_dir / unit.name
            tmp = path.with_name(f".{unit.name}.tmp")
            tmp.write_text(unit.text)
            tmp.chmod(0o644)
            os.replace(tmp, path)
            written.append(path)
    except OSError as exc:
        raise ComposerError(f"cannot write the units to {unit_dir}: {exc.strerror}") from None
    if manage:
        _systemctl("daemon-reload")
        _systemctl("enable", SOCKET, SERVICE)
    return written


def uninstall(unit_dir: Path, *, manage: bool) -> list[Path]:
    """Disable and remove the units (the running engine and its containers are left alone: stopping it is
    the operator's call). Units already gone are no error. Returns the files removed."""
    paths = [unit_dir / SOCKET, unit_dir / SERVICE]
    present = [p for p in paths if p.exists()]
    if manage and present:
        _systemctl("disable", SOCKET, SERVICE)
    removed = []
    for path in present:
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise ComposerError(f"cannot remove {path}: {exc.strerror}") from None
        removed.append(path)
    if manage and removed:
        with contextlib.suppress(ComposerError):
            _systemctl("daemon-reload")
    return removed
