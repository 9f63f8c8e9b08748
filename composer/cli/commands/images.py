"""List images used by the created containers.

Usage:
  images [options] [SERVICE...]

Options:
  --format FORMAT   Format the output: table, table TEMPLATE, json or a Go TEMPLATE [default: table]
  -q, --quiet       Only display IDs
"""

from __future__ import annotations

import time
from typing import Any

from composer.cli.formatting import Columns
from composer.cli.options import GlobalOptions
from composer.gotemplate import Record


def run(argv: list[str], options: GlobalOptions) -> int:
    from composer.cli.formatting import render
    from composer.cli.parsing import parse_command
    from composer.client import engine_errors
    from composer.presenter import out
    from composer.session import open_session

    args = parse_command(__doc__ or "", argv)
    fmt = args["--format"]
    if fmt not in ("table", "json"):
        render(fmt, [], COLUMNS)  # a bad template fails before the engine is asked
    services = list(args["SERVICE"])
    t = open_session(options, services)
    containers = sorted(t.containers(services, all=True), key=lambda c: c.name)
    from composer.client import is_not_found

    images: dict[str, dict[str, Any]] = {}
    with engine_errors():
        for c in containers:
            if c.image_id in images:
                continue
            try:
                images[c.image_id] = t.api.inspect_image(c.image_id)
            except Exception as exc:
                if not is_not_found(exc):
                    raise
                # removed under a container that still exists: no tags left
                images[c.image_id] = {"Id": c.image_id, "RepoTags": []}
    if args["--quiet"]:
        for image_id in dict.fromkeys(c.image_id for c in containers):
            out(image_id.removeprefix("sha256:"))
        return 0
    entries = [_entry(c.name, c.image, images[c.image_id]) for c in containers]
    if fmt == "json":
        out(_compact_json([{k: v for k, v in e.items() if k != "Created"} for e in entries]))
        return 0
    if fmt == "table":
        out(_table(entries))
    else:
        out(render(fmt, [Record("api.ImageSummary", e) for e in entries], COLUMNS))
    return 0


COLUMNS = Columns(
    default="{{.ContainerName}}\t{{.Repository}}\t{{.Tag}}\t{{.Platform}}\t{{.ID}}\t{{.Size}}\t{{.Created}}",
    titles={
        "ContainerName": "CONTAINER",
        "Repository": "REPOSITORY",
        "Tag": "TAG",
        "Platform": "PLATFORM",
        "ID": "IMAGE ID",
        "Size": "SIZE",
        "Created": "CREATED",
        "LastTagTime": "LAST TAG TIME",
    },
)


def _compact_json(entries: list[dict[str, Any]]) -> str:
    import json

    return json.dumps(entries, separators=(",", ":"), ensure_ascii=False)


def _entry(container: str, image_ref: str, image: dict[str, Any]) -> dict[str, Any]:
    """One row: the repository and tag are the ones the container was created from when it names a tag
    the image still carries, else the image's first tag."""
    from composer.reference import parse_image_ref

    tags = list(image.get("RepoTags") or [])
    ref = image_ref if image_ref in tags else (tags[0] if tags else "<none>:<none>")
    parsed = parse_image_ref(ref)
    return {
        "ID": image["Id"],
        "ContainerName": container,
        "Repository": parsed.repository,
        "Tag": parsed.tag or "latest",
        "Platform": f"{image.get('Os', 'linux')}/{image.get('Architecture', 'amd64')}",
        "Size": int(image.get("Size") or 0),
        "Created": image.get("Created", ""),
        "LastTagTime": (image.get("Metadata") or {}).get("LastTagTime", ""),
    }


def _created(stamp: str) -> str:
    from composer.cli.commands._common import human_duration
    from composer.logs import timestamp_key

    seconds, _ = timestamp_key(stamp)
    if not seconds:
        return ""
    return human_duration(max(0.0, time.time() - seconds)) + " ago"


def _table(entries: list[dict[str, Any]]) -> str:
    from composer.cli.commands._common import human_size, table

    rows = [["CONTAINER", "REPOSITORY", "TAG", "PLATFORM", "IMAGE ID", "SIZE", "CREATED"]]
    for e in entries:
        rows.append(
            [
                e["ContainerName"],
                e["Repository"],
                e["Tag"],
                e["Platform"],
                e["ID"].removeprefix("sha256:")[:12],
                human_size(e["Size"]),
                _created(e["Created"] or e["LastTagTime"]),
            ]
        )
    return table(rows, padding=3, min_width=20)  # the docker CLI's table writer: minwidth 20, padding 3
