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
    if previous is not None:
        out["preread"] = previous["read"]
        out["precpu_stats"] = previous.get("cpu_stats", EMPTY_CPU)
    else:
        out["preread"] = ZERO_TIME
        out["precpu_stats"] = EMPTY_CPU
    return out
