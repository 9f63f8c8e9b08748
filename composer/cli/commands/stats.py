"""Display a live stream of container(s) resource usage statistics.

Usage:
  stats [options] [SERVICE]

Options:
  -a, --all          Show all containers (default shows just running)
  --no-stream        Disable streaming stats and only pull the first result
  --no-trunc         Do not truncate output
  --format FORMAT    Format output: table, table TEMPLATE, json or a Go TEMPLATE [default: table]
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from composer.cli.formatting import Columns
from composer.cli.options import GlobalOptions
from composer.gotemplate import Record

if TYPE_CHECKING:
    from composer.containers import ProjectContainer

COLUMNS = Columns(
    default="{{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}",
    titles={
        "ID": "CONTAINER ID",
        "Container": "CONTAINER",
        "Name": "NAME",
        "CPUPerc": "CPU %",
        "MemUsage": "MEM USAGE / LIMIT",
        "MemPerc": "MEM %",
        "NetIO": "NET I/O",
        "BlockIO": "BLOCK I/O",
        "PIDs": "PIDS",
    },
)


def run(argv: list[str], options: GlobalOptions) -> int:
    from composer.cli.commands._common import in_parallel
    from composer.cli.formatting import render
    from composer.cli.parsing import parse_command
    from composer.session import open_session

    args = parse_command(__doc__ or "", argv)
    fmt = args["--format"]
    render(fmt, [], COLUMNS)  # a bad template fails before anything is sampled
    services = [args["SERVICE"]] if args["SERVICE"] else []
    t = open_session(options, services, streaming=True)
    try:
        while True:
            containers = t.containers(services, all=bool(args["--all"]))
            samples = in_parallel(containers, lambda c: _sample(t.api, c))
            rows = [_row(c, s, bool(args["--no-trunc"])) for c, s in zip(containers, samples, strict=True)]
            text = render(fmt, [_record(c, r) for c, r in zip(containers, rows, strict=True)], COLUMNS)
            if args["--no-stream"]:
                sys.stdout.write(text)
                return 0
            sys.stdout.write("\033[2J\033[H" + text)  # redraw in place, as docker stats does
            sys.stdout.flush()
            time.sleep(0.5)
    except KeyboardInterrupt:
        return 0


_JSON_KEYS = ("ID", "Name", "CPUPerc", "MemUsage", "MemPerc", "NetIO", "BlockIO", "PIDs")


def _record(container: ProjectContainer, row: list[str]) -> Record:
    """One sample with the docker CLI's stats fields (`json` prints them sorted; Container is the ID
    Compose asked the engine about)."""
    entry = dict(zip(_JSON_KEYS, row, strict=True))
    entry["Container"] = container.id
    return Record("*formatter.statsContext", dict(sorted(entry.items())))


def _sample(api: Any, container: ProjectContainer) -> Mapping[str, Any]:
    if not container.running:
        return {}
    result: Mapping[str, Any] = api.stats(container.id, stream=False)
    return result


def _row(container: ProjectContainer, s: Mapping[str, Any], no_trunc: bool) -> list[str]:
    from composer.cli.commands._common import human_size

    cid = container.id if no_trunc else container.id[:12]
    if not s:
        return [cid, container.name, "0.00%", "0B / 0B", "0.00%", "0B / 0B", "0B / 0B", "0"]
    cpu, pre = s.get("cpu_stats") or {}, s.get("precpu_stats") or {}
    cpu_delta = (cpu.get("cpu_usage") or {}).get("total_usage", 0) - (pre.get("cpu_usage") or {}).get(
        "total_usage", 0
    )
    system_delta = cpu.get("system_cpu_usage", 0) - pre.get("system_cpu_usage", 0)
    cpus = cpu.get("online_cpus") or len((cpu.get("cpu_usage") or {}).get("percpu_usage") or []) or 1
    cpu_pct = cpu_delta / system_delta * cpus * 100 if system_delta > 0 and cpu_delta > 0 else 0.0
    mem = s.get("memory_stats") or {}
    stats = mem.get("stats") or {}
    usage = max(
        0, int(mem.get("usage", 0)) - int(stats.get("total_inactive_file", stats.get("inactive_file", 0)))
    )
    limit = int(mem.get("limit", 0))
    mem_pct = usage / limit * 100 if limit else 0.0
    nets = (s.get("networks") or {}).values()
    rx = sum(int(n.get("rx_bytes", 0)) for n in nets)
    tx = sum(int(n.get("tx_bytes", 0)) for n in nets)
    blk = (s.get("blkio_stats") or {}).get("io_service_bytes_recursive") or []
    read = sum(int(e.get("value", 0)) for e in blk if str(e.get("op", "")).lower() == "read")
    write = sum(int(e.get("value", 0)) for e in blk if str(e.get("op", "")).lower() == "write")
    pids = (s.get("pids_stats") or {}).get("current", 0)
    return [
        cid,
        container.name,
        f"{cpu_pct:.2f}%",
        f"{human_size(usage, binary=True)} / {human_size(limit, binary=True)}",
        f"{mem_pct:.2f}%",
        f"{human_size(rx)} / {human_size(tx)}",
        f"{human_size(read)} / {human_size(write)}",
        str(pids),
    ]
