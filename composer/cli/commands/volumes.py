"""List volumes.

Usage:
  volumes [options] [SERVICE...]

Options:
  -q, --quiet         Only display volume names
  --format FORMAT     Format the output: table, table TEMPLATE, json or a Go TEMPLATE [default: table]

The project's volumes (by label); with SERVICE, only those mounted by that service's running containers.
"""

from __future__ import annotations

from typing import Any

from composer.cli.formatting import Columns, label_title
from composer.cli.options import GlobalOptions
from composer.gotemplate import Record

COLUMNS = Columns(
    default="{{.Driver}}\t{{.Name}}",
    titles={
        "Name": "VOLUME NAME",
        "Driver": "DRIVER",
        "Scope": "SCOPE",
        "Mountpoint": "MOUNTPOINT",
        "Labels": "LABELS",
        "Links": "LINKS",
        "Size": "SIZE",
        "Group": "GROUP",
        "Availability": "AVAILABILITY",
        "Status": "STATUS",
    },
    methods={"Label": label_title},
)


def run(argv: list[str], options: GlobalOptions) -> int:
    from composer import labels as L
    from composer.cli.formatting import render
    from composer.cli.parsing import parse_command
    from composer.client import engine_errors
    from composer.presenter import lines, out
    from composer.session import open_session

    args = parse_command(__doc__ or "", argv)
    fmt = args["--format"]
    render(fmt, [], COLUMNS)  # a bad template fails before the engine is asked
    services = list(args["SERVICE"])
    t = open_session(options, services)
    with engine_errors():
        found = t.api.volumes(filters=L.project_filter(t.name, oneoff=None)).get("Volumes") or []
        if services:
            # as Compose: the volumes mounted by the services' running containers
            used = {
                str(m.get("Name"))
                for c in t.api.containers(filters=L.project_filter(t.name, oneoff=None))
                if (c.get("Labels") or {}).get(L.SERVICE) in services
                for m in c.get("Mounts") or []
                if m.get("Name")
            }
            found = [v for v in found if v.get("Name") in used]
    found.sort(key=lambda v: str(v.get("Name")))
    if args["--quiet"]:
        lines(str(v["Name"]) for v in found)
        return 0
    text = render(fmt, [_record(v) for v in found], COLUMNS)
    if text:
        out(text)
    return 0


def _record(volume: dict[str, Any]) -> Record:
    """A volume with the docker CLI's volume fields (cluster-only ones and an unknown size are N/A)."""
    labels = dict(volume.get("Labels") or {})
    usage = volume.get("UsageData") or {}
    size = usage.get("Size", -1)
    links = usage.get("RefCount", -1)
    fields = {
        "Availability": "N/A",
        "Driver": str(volume.get("Driver") or ""),
        "Group": "N/A",
        "Labels": ",".join(f"{k}={v}" for k, v in sorted(labels.items())),
        "Links": str(links) if links >= 0 else "N/A",
        "Mountpoint": str(volume.get("Mountpoint") or ""),
        "Name": str(volume.get("Name") or ""),
        "Scope": str(volume.get("Scope") or "local"),
        "Size": _size(size),
        "Status": "N/A",
    }
    return Record("*formatter.volumeContext", fields, {"Label": lambda key: labels.get(key, "")})


def _size(size: int) -> str:
    from composer.cli.commands._common import human_size

    return human_size(size) if size >= 0 else "N/A"
