"""`docker stats` samples: the runtime's cgroup figures plus read/preread and the previous CPU sample."""

from __future__ import annotations

from typing import Any

from engine.containers.model import ZERO_TIME, Container, now_rfc3339

EMPTY_CPU: dict[str, Any] = {
    "cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
    "system_cpu_usage": 0,
    "online_cpus": 0,
    "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0},
}


def empty_sample(c: Container) -> dict[str, Any]:
    return {
        "read": ZERO_TIME,
        "preread": ZERO_TIME,
        "pids_stats": {},
        "blkio_stats": {
            "io_service_bytes_recursive": None,
            "io_serviced_recursive": None,
            "io_queue_recursive": None,
            "io_service_time_recursive": None,
            "io_wait_time_recursive": None,
            "io_merged_recursive": None,
            "io_time_recursive": None,
            "sectors_recursive": None,
        },
        "num_procs": 0,
        "storage_stats": {},
        "cpu_stats": EMPTY_CPU,
        "precpu_stats": EMPTY_CPU,
        "memory_stats": {},
        "name": "/" + c.name,
        "id": c.id,
    }


def sample(c: Container, raw: dict[str, Any], previous: dict[str, Any] | None) -> dict[str, Any]:
    out = empty_sample(c)
    out.update(raw)
    out["read"] = now_rfc3339()
    out["name"] = "/" + c.name
    out["id"] = c.id
    if c.host_config.get("NetworkMode") != "host" and (nets := network_counters(c.state.pid)):
        out["networks"] = nets
    if previous is not None:
        out["preread"] = previous["read"]
        out["precpu_stats"] = previous.get("cpu_stats", EMPTY_CPU)
    else:
        out["preread"] = ZERO_TIME
        out["precpu_stats"] = EMPTY_CPU
    return out


NET_DEV_FIELDS = {0: "rx_bytes", 1: "rx_packets", 2: "rx_errors", 3: "rx_dropped",
                  8: "tx_bytes", 9: "tx_packets", 10: "tx_errors", 11: "tx_dropped"}


def network_counters(pid: int) -> dict[str, dict[str, int]]:
    """Per interface of the container's network namespace (loopback aside, as dockerd): its counters,
    from /proc/<pid>/net/dev (which shows the namespace of that process)."""
    try:
        with open(f"/proc/{pid}/net/dev") as f:
            lines = f.read().splitlines()[2:]
    except OSError:
        return {}
    out: dict[str, dict[str, int]] = {}
    for line in lines:
        name, _, numbers = line.partition(":")
        values = numbers.split()
        if name.strip() == "lo" or len(values) < 16:
            continue
        out[name.strip()] = {key: int(values[i]) for i, key in NET_DEV_FIELDS.items()}
    return out
