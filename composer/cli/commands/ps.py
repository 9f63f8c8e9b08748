"""List containers.

Usage:
  ps [options] [--status STATUS]... [SERVICE...]

Options:
  -a, --all               Show all stopped containers (including those created by the run command)
  -q, --quiet             Only display IDs
  --services              Display services
  --status STATUS         Filter by status: paused, restarting, removing, running, dead, created, exited
  --format FORMAT         Format the output: table, table TEMPLATE, json or a Go TEMPLATE [default: table]
  --no-trunc              Don't truncate output
  --orphans               Include orphaned services (default: true)
"""

from __future__ import annotations

import json
import time

from composer._typecheck import TYPE_CHECKING
from composer.cli.formatting import Columns, label_title
from composer.cli.options import GlobalOptions, UsageError
from composer.gotemplate import Record

if TYPE_CHECKING:
    from typing import Any

STATUSES = ("paused", "restarting", "removing", "running", "dead", "created", "exited")


def run(argv: list[str], options: GlobalOptions) -> int:
    from composer import labels as L
    from composer.cli.parsing import parse_command
    from composer.client import engine_errors
    from composer.presenter import lines, out
    from composer.session import open_session

    args = parse_command(__doc__ or "", argv)
    bad = [s for s in args["--status"] if s not in STATUSES]
    if bad:
        raise UsageError(f"invalid --status {bad[0]!r}: use one of {', '.join(STATUSES)}")
    session = open_session(options, args["SERVICE"])
    with engine_errors(f"listing the containers of project {session.name}"):
        items = session.engine.reader.containers(
            all=True, filters=L.project_filter(session.name, oneoff=None if args["--all"] else False)
        )
    shown_all = args["--all"] or args["--status"]
    rows = []
    for item in items:
        lab = item.get("Labels") or {}
        if args["SERVICE"] and lab.get(L.SERVICE) not in args["SERVICE"]:
            continue
        if args["--status"]:
            if item.get("State") not in args["--status"]:
                continue
        elif not shown_all and item.get("State") not in ("running", "paused", "restarting"):
            continue
        rows.append(item)
    rows.sort(key=lambda i: str((i.get("Names") or [""])[0]))
    if args["--services"]:
        lines(sorted({(i.get("Labels") or {}).get(L.SERVICE, "") for i in rows}))
        return 0
    if args["--quiet"]:
        lines(str(i["Id"]) if args["--no-trunc"] else str(i["Id"])[:12] for i in rows)
        return 0
    from composer.cli.formatting import render

    no_trunc = bool(args["--no-trunc"])
    text = render(args["--format"], [_record(i, session.name, no_trunc) for i in rows], COLUMNS)
    if text:
        out(text)
    return 0


def format_ports(ports: list[dict[str, Any]]) -> str:
    out = []
    for p in sorted(ports or [], key=lambda p: (p.get("PrivatePort", 0), p.get("IP", ""))):
        private = f"{p.get('PrivatePort')}/{p.get('Type', 'tcp')}"
        if p.get("PublicPort"):
            ip = p.get("IP") or "0.0.0.0"
            host = f"[{ip}]" if ":" in ip else ip
            out.append(f"{host}:{p['PublicPort']}->{private}")
        else:
            out.append(private)
    return ", ".join(dict.fromkeys(out))


COLUMNS = Columns(
    default="{{.Name}}\t{{.Image}}\t{{.Command}}\t{{.Service}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}",
    titles={
        "ID": "CONTAINER ID",
        "Name": "NAME",
        "Image": "IMAGE",
        "Command": "COMMAND",
        "Service": "SERVICE",
        "RunningFor": "CREATED",
        "CreatedAt": "CREATED AT",
        "Status": "STATUS",
        "State": "STATE",
        "Ports": "PORTS",
        "Size": "SIZE",
        "Labels": "LABELS",
        "Project": "PROJECT",
    },
    methods={"Label": label_title},
)


def _record(item: dict[str, Any], project: str, no_trunc: bool) -> Record:
    """One container as Compose's ps formatter sees it (its field names; `json` prints the fields)."""
    from composer import labels as L
    from composer.cli.commands._common import human_duration

    lab = item.get("Labels") or {}
    status = str(item.get("Status") or "")
    health = ""
    for word in ("unhealthy", "healthy", "health: starting"):
        if f"({word})" in status:
            health = "starting" if word == "health: starting" else word
            break
    exit_code = 0
    if status.startswith("Exited ("):
        exit_code = int(status[len("Exited (") :].split(")")[0])
    command = json.dumps(str(item.get("Command") or ""), ensure_ascii=False)
    if not no_trunc and len(command) > 20:
        command = command[:19] + "…"
    name = str((item.get("Names") or [""])[0]).lstrip("/")
    created = int(item.get("Created") or 0)
    fields = {
        "Command": command,
        "CreatedAt": time.strftime("%Y-%m-%d %H:%M:%S +0000 UTC", time.gmtime(created)),
        "ExitCode": exit_code,
        "Health": health,
        "ID": str(item["Id"]) if no_trunc else str(item["Id"])[:12],
        "Image": str(item.get("Image") or ""),
        "Labels": ",".join(f"{k}={v}" for k, v in sorted(lab.items())),
        "LocalVolumes": str(sum(1 for m in item.get("Mounts") or [] if m.get("Type") == "volume")),
        "Mounts": ",".join(str(m.get("Name") or m.get("Source") or "") for m in item.get("Mounts") or []),
        "Name": name,
        "Names": name,
        "Networks": ",".join(sorted((item.get("NetworkSettings") or {}).get("Networks") or {})),
        "Ports": format_ports(item.get("Ports") or []),
        "Project": project,
        "Publishers": [
            Record(
                "api.PortPublisher",
                {
                    "URL": p.get("IP", ""),
                    "TargetPort": p.get("PrivatePort"),
                    "PublishedPort": p.get("PublicPort", 0),
                    "Protocol": p.get("Type", "tcp"),
                },
            )
            for p in item.get("Ports") or []
        ],
        "RunningFor": human_duration(max(0, time.time() - created)) + " ago",
        "Service": lab.get(L.SERVICE, ""),
        "Size": "0B",
        "State": str(item.get("State") or ""),
        "Status": status,
    }
    return Record("*formatter.ContainerContext", fields, {"Label": lambda key: lab.get(key, "")})
