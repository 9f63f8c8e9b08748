"""Checks on a create request before anything is stored, with dockerd's statuses and wording.

First the JSON types (engine.containers.gotypes, as dockerd's decoder), then the values dockerd checks at
create (limits, capabilities, ports, signals, sysctls). A request that passes can be normalized
(engine.containers.create) and started without a type error; one that does not is a 400 naming the field.
Nothing here does I/O.
"""

from __future__ import annotations

from typing import Any

from engine.containers import gotypes
from engine.containers.signals import parse_signal
from engine.errors import InvalidParameter
from engine.runtime import caps, sysctl
from engine.runtime.oci import RLIMITS

MIN_MEMORY = 6 * 1024 * 1024
PROTOCOLS = ("tcp", "udp", "sctp")


def check_create(body: dict[str, Any]) -> None:
    gotypes.check(body)
    hc = body.get("HostConfig") or {}
    working_dir = body.get("WorkingDir") or ""
    if working_dir and not working_dir.startswith("/"):
        raise InvalidParameter(
            f"the working directory '{working_dir}' is invalid, it needs to be an absolute path"
        )
    check_modes(hc)
    check_limits(hc)
    check_cpuset(hc)
    check_capabilities(hc)
    check_ulimits(hc)
    check_ports(body.get("ExposedPorts") or {}, hc.get("PortBindings") or {})
    if body.get("StopSignal"):
        parse_signal(body["StopSignal"])  # "Invalid signal: X"
    check_sysctls(hc)


def check_modes(hc: dict[str, Any]) -> None:
    cgroupns = hc.get("CgroupnsMode") or ""
    if cgroupns not in ("", "host", "private"):
        raise InvalidParameter(f"invalid cgroup namespace mode: {cgroupns}")
    isolation = hc.get("Isolation") or ""
    if isolation not in ("", "default"):
        raise InvalidParameter(f"Invalid isolation: \"{isolation}\" - linux only supports 'default'")


def check_cpuset(hc: dict[str, Any]) -> None:
    """CpusetCpus/CpusetMems must name CPUs and memory nodes this host has (dockerd's wording)."""
    for key, what, available in (
        ("CpusetCpus", "CPUs", _online("/sys/devices/system/cpu/online")),
        ("CpusetMems", "memory nodes", _online("/sys/devices/system/node/online")),
    ):
        wanted = hc.get(key) or ""
        if not wanted or available is None:
            continue
        ids = _id_list(wanted)
        if ids is None:
            raise InvalidParameter(f"Invalid value {wanted} for cpuset {key.removeprefix('Cpuset').lower()}")
        if not ids <= available[0]:
            raise InvalidParameter(
                f"Requested {what} are not available - requested {wanted}, available: {available[1]}"
            )


def _online(path: str) -> tuple[set[int], str] | None:
    try:
        with open(path) as f:
            text = f.read().strip()
    except OSError:
        return None
    ids = _id_list(text)
    return None if ids is None else (ids, text)


def _id_list(text: str) -> set[int] | None:
    """ "0-2,5" -> {0, 1, 2, 5}; None when malformed."""
    out: set[int] = set()
    for part in text.split(","):
        low, sep, high = part.strip().partition("-")
        if not low.isdigit() or (sep and not high.isdigit()):
            return None
        first, last = int(low), int(high) if sep else int(low)
        if last < first or last > 1 << 16:
            return None
        out.update(range(first, last + 1))
    return out


def check_limits(hc: dict[str, Any]) -> None:
    """dockerd's verifyPlatformContainerResources, the checks that are errors (not warnings)."""
    memory = hc.get("Memory") or 0
    if memory and memory < MIN_MEMORY:
        raise InvalidParameter("Minimum memory limit allowed is 6MB")
    kernel = hc.get("KernelMemory") or 0
    if kernel and kernel < MIN_MEMORY:
        raise InvalidParameter("Minimum kernel memory limit allowed is 6MB")
    reservation = hc.get("MemoryReservation") or 0
    if reservation and reservation < MIN_MEMORY:
        raise InvalidParameter("Minimum memory reservation allowed is 6MB")
    swappiness = hc.get("MemorySwappiness")
    if swappiness is not None and swappiness != -1 and not 0 <= swappiness <= 100:
        raise InvalidParameter(f"Invalid value: {swappiness}, valid memory swappiness range is 0-100")
    oom = hc.get("OomScoreAdj") or 0
    if not -1000 <= oom <= 1000:
        raise InvalidParameter(f"Invalid value {oom}, range for oom score adj is [-1000, 1000]")
    period = hc.get("CpuPeriod") or 0
    if period and not 1000 <= period <= 1_000_000:
        raise InvalidParameter(
            "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)"
        )
    quota = hc.get("CpuQuota") or 0
    if 0 < quota < 1000:
        raise InvalidParameter("CPU cfs quota can not be less than 1ms (i.e. 1000)")
    weight = hc.get("BlkioWeight") or 0
    if weight and not 10 <= weight <= 1000:
        raise InvalidParameter("Range of blkio weight is from 10 to 1000")


def check_capabilities(hc: dict[str, Any]) -> None:
    for key in ("CapAdd", "CapDrop"):
        value = hc.get(key)
        try:
            caps.normalize([value] if isinstance(value, str) else value)
        except InvalidParameter as e:
            raise InvalidParameter(f"invalid {key}: {e.message}") from None


def check_ulimits(hc: dict[str, Any]) -> None:
    for ulimit in hc.get("Ulimits") or []:
        if ulimit is None:
            continue
        name = ulimit.get("Name") or ""
        if name.lower() not in RLIMITS:
            raise InvalidParameter(f"invalid ulimit type: {name}")
        soft, hard = ulimit.get("Soft") or 0, ulimit.get("Hard") or 0
        if soft > hard:
            raise InvalidParameter(
                f"ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}"
            )


def check_ports(exposed: dict[str, Any], bindings: dict[str, Any]) -> None:
    """Container ports (the keys, "80/tcp", "8000-8010/udp") and host ports (1-65535, a range, or empty
    for "any"): dockerd's `invalid port specification: "<port>"`."""
    for key in [*exposed, *bindings]:
        port, _, proto = key.rpartition("/") if "/" in key else (key, "", "tcp")
        _port_range(port, allow_empty=False)
        if proto.lower() not in PROTOCOLS:
            raise InvalidParameter(f"invalid proto: {proto}")
    for items in bindings.values():
        for binding in items or []:
            host_port = (binding or {}).get("HostPort") or ""
            _port_range(host_port.partition("/")[0], allow_empty=True, spec=host_port)


def _port_range(text: str, *, allow_empty: bool, spec: str | None = None) -> None:
    if text == "" and allow_empty:
        return
    low, sep, high = text.partition("-")
    ends = [low, high] if sep else [low]
    if not all(end.isdigit() and end.isascii() and 0 < int(end) <= 65535 for end in ends) or (
        sep and int(low) > int(high)
    ):
        if text == "0" and allow_empty:
            return  # "0": any free port, as an empty one
        raise InvalidParameter(f'invalid port specification: "{spec if spec is not None else text}"')


def check_sysctls(hc: dict[str, Any]) -> None:
    """Only the kernel parameters the container's own namespaces isolate (runc's rules, refused at create)."""
    values = hc.get("Sysctls")
    if not values:
        return
    sysctl.check(
        values,
        own_ipc=_own(hc.get("IpcMode")),
        own_net=_own(hc.get("NetworkMode")),
        own_uts=_own(hc.get("UTSMode")),
    )


def _own(mode: Any) -> bool:
    """A namespace of the container's own (private, shared with another container) or the host's."""
    return mode != "host"
