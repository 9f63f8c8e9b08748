"""List containers.

Usage:
  ps [options] [--status STATUS]... [SERVICE...]

Options:
  -a, --all               Show all stopped containers (including those created by the run command)
  -q, --quiet             Only display IDs
  --services              Display services
  --status STATUS         Filter by status: paused, restarting, removing, running, dead, created, exited
  --format FORMAT         Format the output: table or json [default: table]
  --no-trunc              Don't truncate output
  --orphans               Include orphaned services (default: true)
"""

from __future__ import annotations

import json
import time
from typing import Any

from composer.cli.options import GlobalOptions, UsageError

STATUSES = ("paused", "restarting", "removing", "running", "dead", "created", "exited")


def run(argv: list[str], options: GlobalOptions) -> int:
    from composer import labels as L
    from composer.cli.main import parse_command
    from composer.client import engine_errors
    from composer.presenter import lines, out
    from composer.session import open_session

    args = parse_command(__doc__ or "", argv)
    bad = [s for s in args["--status"] if s not in STATUSES]
    if bad:
        raise UsageError(f"invalid --status {bad[0]!r}: use one of {', '.join(STATUSES)}")
    if args["--format"] not in ("table", "json"):
        raise UsageError(f"invalid --format {args['--format']!r}: use table or json")
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
    if args["--format"] == "json":
        lines(json.dumps(_json_row(i, session.name), separators=(",", ":")) for i in rows)
        return 0
    out(_table([_table_row(i, bool(args["--no-trunc"])) for i in rows]))
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


def _ago(created: int) -> str:
    seconds = max(0, int(time.time()) - int(created))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''} ago"
    return f"{seconds} seconds ago"


def _table_row(item: dict[str, Any], no_trunc: bool) -> list[str]:
    from composer import labels as L

    command = str(item.get("Command") or "")
    if not no_trunc and len(command) > 20:
        command = command[:19] + "…"
    return [
        str((item.get("Names") or [""])[0]).lstrip("/"),
        str(item.get("Image") or ""),
        json.dumps(command, ensure_ascii=False),
        (item.get("Labels") or {}).get(L.SERVICE, ""),
        _ago(item.get("Created") or 0),
        str(item.get("Status") or ""),
        format_ports(item.get("Ports") or []),
    ]


def _table(rows: list[list[str]]) -> str:
    header = ["NAME", "IMAGE", "COMMAND", "SERVICE", "CREATED", "STATUS", "PORTS"]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    text = ["   ".join(cell.ljust(widths[i]) for i, cell in enumerate(r)).rstrip() for r in [header, *rows]]
    return "\n".join(text)


def _json_row(item: dict[str, Any], project: str) -> dict[str, Any]:
    from composer import labels as L

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
    return {
        "Command": json.dumps(str(item.get("Command") or ""), ensure_ascii=False),
        "CreatedAt": time.strftime("%Y-%m-%d %H:%M:%S +0000 UTC", time.gmtime(item.get("Created") or 0)),
        "ExitCode": exit_code,
        "Health": health,
        "ID": str(item["Id"]),
        "Image": str(item.get("Image") or ""),
        "Labels": ",".join(f"{k}={v}" for k, v in sorted(lab.items())),
        "LocalVolumes": str(sum(1 for m in item.get("Mounts") or [] if m.get("Type") == "volume")),
        "Mounts": ",".join(str(m.get("Name") or m.get("Source") or "") for m in item.get("Mounts") or []),
        "Name": str((item.get("Names") or [""])[0]).lstrip("/"),
        "Names": str((item.get("Names") or [""])[0]).lstrip("/"),
        "Networks": ",".join(sorted((item.get("NetworkSettings") or {}).get("Networks") or {})),
        "Ports": format_ports(item.get("Ports") or []),
        "Project": project,
        "Publishers": [
            {
                "URL": p.get("IP", ""),
                "TargetPort": p.get("PrivatePort"),
                "PublishedPort": p.get("PublicPort", 0),
                "Protocol": p.get("Type", "tcp"),
            }
            for p in item.get("Ports") or []
        ],
        "RunningFor": _ago(item.get("Created") or 0),
        "Service": lab.get(L.SERVICE, ""),
        "Size": "0B",
        "State": str(item.get("State") or ""),
        "Status": status,
    }
