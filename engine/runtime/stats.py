"""Docker's /containers/{id}/stats fields, read from the container's cgroup (v1 or v2).

The daemon adds name, id, networks and precpu_stats (the previous sample); this is one sample.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from engine.runtime import cgroups
from engine.runtime.cgroups import Cgroup, v1_hierarchies
from engine.runtime.logfile import rfc3339nano

_CLK_TCK = os.sysconf("SC_CLK_TCK")
_UNLIMITED = 1 << 62


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def _int(path: Path, default: int = 0) -> int:
    text = _read(path)
    return int(text) if text.lstrip("-").isdigit() else default


def _kv(text: str) -> dict[str, int]:
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            out[parts[0]] = int(parts[1])
    return out


def system_cpu_usage() -> int:
    """Host CPU time in ns, as Docker computes it from /proc/stat's first line."""
    with open("/proc/stat") as f:
        fields = f.readline().split()[1:8]
    return sum(int(x) for x in fields) * 1_000_000_000 // _CLK_TCK


def host_memory() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    return 0


def online_cpus() -> int:
    return len(os.sched_getaffinity(0)) or (os.cpu_count() or 1)


def sample(cgroup: Cgroup) -> dict[str, Any]:
    data = _sample_v2(cgroup) if cgroup.version == 2 else _sample_v1(cgroup)
    data["cpu_stats"]["system_cpu_usage"] = system_cpu_usage()
    data["cpu_stats"]["online_cpus"] = online_cpus()
    data["read"] = rfc3339nano()
    data["num_procs"] = 0
    data["storage_stats"] = {}
    return data


def _dir(name: str, cgroup: Cgroup) -> Path:
    return v1_hierarchies().get(name, cgroups.CGROUP_ROOT / name) / cgroup.rel


def _sample_v1(cg: Cgroup) -> dict[str, Any]:
    mem, cpuacct, cpu, pids, blkio = (_dir(n, cg) for n in ("memory", "cpuacct", "cpu", "pids", "blkio"))
    limit = _int(mem / "memory.limit_in_bytes", _UNLIMITED)
    ticks = _kv(_read(cpuacct / "cpuacct.stat"))
    throttle = _kv(_read(cpu / "cpu.stat"))
    percpu = [int(x) for x in _read(cpuacct / "cpuacct.usage_percpu").split()]
    blk = []
    for line in _read(blkio / "blkio.throttle.io_service_bytes").splitlines():
        parts = line.split()
        if len(parts) == 3 and ":" in parts[0]:
            major, minor = parts[0].split(":")
            blk.append({"major": int(major), "minor": int(minor), "op": parts[1], "value": int(parts[2])})
    pids_max = _read(pids / "pids.max")
    return {
        "pids_stats": {
            "current": _int(pids / "pids.current"),
            **({"limit": int(pids_max)} if pids_max.isdigit() else {}),
        },
        "blkio_stats": {
            "io_service_bytes_recursive": blk or None,
            "io_serviced_recursive": None,
            "io_queue_recursive": None,
            "io_service_time_recursive": None,
            "io_wait_time_recursive": None,
            "io_merged_recursive": None,
            "io_time_recursive": None,
            "sectors_recursive": None,
        },
        "cpu_stats": {
            "cpu_usage": {
                "total_usage": _int(cpuacct / "cpuacct.usage"),
                "percpu_usage": percpu,
                "usage_in_kernelmode": ticks.get("system", 0) * 1_000_000_000 // _CLK_TCK,
                "usage_in_usermode": ticks.get("user", 0) * 1_000_000_000 // _CLK_TCK,
            },
            "throttling_data": {
                "periods": throttle.get("nr_periods", 0),
                "throttled_periods": throttle.get("nr_throttled", 0),
                "throttled_time": throttle.get("throttled_time", 0),
            },
        },
        "memory_stats": {
            "usage": _int(mem / "memory.usage_in_bytes"),
            "max_usage": _int(mem / "memory.max_usage_in_bytes"),
            "failcnt": _int(mem / "memory.failcnt"),
            "stats": _kv(_read(mem / "memory.stat")),
            "limit": min(limit, host_memory()),
        },
    }


def _sample_v2(cg: Cgroup) -> dict[str, Any]:
    d = cgroups.CGROUP_ROOT / cg.rel
    cpu = _kv(_read(d / "cpu.stat"))
    mem_max = _read(d / "memory.max")
    pids_max = _read(d / "pids.max")
    blk = []
    for line in _read(d / "io.stat").splitlines():
        parts = line.split()
        if not parts or ":" not in parts[0]:
            continue
        major, minor = parts[0].split(":")
        fields = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
        for key, op in (("rbytes", "read"), ("wbytes", "write")):
            if key in fields:
                blk.append({"major": int(major), "minor": int(minor), "op": op, "value": int(fields[key])})
    return {
        "pids_stats": {
            "current": _int(d / "pids.current"),
            **({"limit": int(pids_max)} if pids_max.isdigit() else {}),
        },
        "blkio_stats": {"io_service_bytes_recursive": blk or None},
        "cpu_stats": {
            "cpu_usage": {
                "total_usage": cpu.get("usage_usec", 0) * 1000,
                "usage_in_kernelmode": cpu.get("system_usec", 0) * 1000,
                "usage_in_usermode": cpu.get("user_usec", 0) * 1000,
            },
            "throttling_data": {
                "periods": cpu.get("nr_periods", 0),
                "throttled_periods": cpu.get("nr_throttled", 0),
                "throttled_time": cpu.get("throttled_usec", 0) * 1000,
            },
        },
        "memory_stats": {
            "usage": _int(d / "memory.current"),
            "stats": _kv(_read(d / "memory.stat")),
            "limit": int(mem_max) if mem_max.isdigit() else host_memory(),
        },
    }
