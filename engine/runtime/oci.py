"""Docker's Config + HostConfig -> an OCI runtime-spec config.json, with Docker's defaults.

Pure: no I/O except reading the engine's own rlimits and the kernel's capability count, so the
same function serves the built-in runtime and runc alike.
"""

from __future__ import annotations

import os
import resource
from collections.abc import Mapping
from pathlib import Path

from engine._typecheck import TYPE_CHECKING
from engine.errors import InvalidParameter
from engine.runtime import caps, seccomp, sysctl
from engine.runtime.cgroups import detect_version
from engine.runtime.devices import host_devices
from engine.runtime.users import ResolvedUser, resolve_user

if TYPE_CHECKING:
    from typing import Any

__all__ = ["build_spec", "resolve_user", "ResolvedUser", "INIT_PATH", "DEFAULT_PATH"]

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
INIT_PATH = "/sbin/docker-init"
INIT_CANDIDATES = ("docker-init", "tini-static", "tini")
DEFAULT_SHM_SIZE = 64 * 1024 * 1024

# Docker's lists (moby oci/defaults.go): hidden from, and read-only to, unprivileged containers.
MASKED_PATHS = [
    "/proc/asound",
    "/proc/acpi",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
]
READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]

RLIMITS = {
    "core": "RLIMIT_CORE",
    "cpu": "RLIMIT_CPU",
    "data": "RLIMIT_DATA",
    "fsize": "RLIMIT_FSIZE",
    "locks": "RLIMIT_LOCKS",
    "memlock": "RLIMIT_MEMLOCK",
    "msgqueue": "RLIMIT_MSGQUEUE",
    "nice": "RLIMIT_NICE",
    "nofile": "RLIMIT_NOFILE",
    "nproc": "RLIMIT_NPROC",
    "rss": "RLIMIT_RSS",
    "rtprio": "RLIMIT_RTPRIO",
    "rttime": "RLIMIT_RTTIME",
    "sigpending": "RLIMIT_SIGPENDING",
    "stack": "RLIMIT_STACK",
    "as": "RLIMIT_AS",
}


def _device(kind: str, major: int | None, minor: int | None, access: str = "rwm") -> dict[str, Any]:
    rule: dict[str, Any] = {"allow": True, "type": kind, "access": access}
    if major is not None:
        rule["major"] = major
    if minor is not None:
        rule["minor"] = minor
    return rule


# Deny everything, then allow what every container gets (mknod of any node; the /dev nodes we create;
# ptys; /dev/net/tun), as Docker + runc do.
DEFAULT_DEVICE_RULES = [
    {"allow": False, "access": "rwm"},
    _device("c", None, None, "m"),
    _device("b", None, None, "m"),
    _device("c", 1, 3),
    _device("c", 1, 5),
    _device("c", 1, 7),
    _device("c", 1, 8),
    _device("c", 1, 9),
    _device("c", 5, 0),
    _device("c", 5, 1),
    _device("c", 5, 2),
    _device("c", 136, None),
    _device("c", 10, 200),
]


def _default_mounts(shm_size: int, sys_ro: bool) -> list[dict[str, Any]]:
    ro = ["ro"] if sys_ro else []
    return [
        {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
        {
            "destination": "/dev",
            "type": "tmpfs",
            "source": "tmpfs",
            "options": ["nosuid", "strictatime", "mode=755", "size=65536k"],
        },
        {
            "destination": "/dev/pts",
            "type": "devpts",
            "source": "devpts",
            "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
        },
        {
            "destination": "/sys",
            "type": "sysfs",
            "source": "sysfs",
            "options": ["nosuid", "noexec", "nodev", *ro],
        },
        {
            "destination": "/sys/fs/cgroup",
            "type": "cgroup",
            "source": "cgroup",
            "options": ["nosuid", "noexec", "nodev", "relatime", *ro],
        },
        {
            "destination": "/dev/mqueue",
            "type": "mqueue",
            "source": "mqueue",
            "options": ["nosuid", "noexec", "nodev"],
        },
        {
            "destination": "/dev/shm",
            "type": "tmpfs",
            "source": "shm",
            "options": ["nosuid", "noexec", "nodev", "mode=1777", f"size={shm_size}"],
        },
    ]


def _env(config: dict[str, Any], hostname: str, tty: bool, home: str) -> list[str]:
    env = [f"PATH={DEFAULT_PATH}", f"HOSTNAME={hostname}"]
    if tty:
        env.append("TERM=xterm")
    for item in config.get("Env") or []:
        key = item.split("=", 1)[0]
        if "=" not in item:  # a name without a value (kept so in Config.Env): not in the process's env
            env = [e for e in env if e.split("=", 1)[0] != key]
            continue
        for i, existing in enumerate(env):
            if existing.split("=", 1)[0] == key:
                env[i] = item
                break
        else:
            env.append(item)
    if not any(e.startswith("HOME=") for e in env):
        env.append(f"HOME={home}")
    return env


def _rlimits(host_config: dict[str, Any]) -> list[dict[str, Any]]:
    # Default: the engine's own hard nofile limit for both values (a container can never be given more
    # than the engine holds; on hosts without CAP_SYS_RESOURCE anything higher fails at setrlimit).
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard == resource.RLIM_INFINITY or hard > 1048576:
        hard = 1048576
    limits = {"RLIMIT_NOFILE": {"type": "RLIMIT_NOFILE", "soft": hard, "hard": hard}}
    for ulimit in host_config.get("Ulimits") or []:
        name = RLIMITS.get(str(ulimit.get("Name", "")).lower())
        if name is None:
            raise InvalidParameter(f"invalid ulimit type: {ulimit.get('Name')}")
        soft, hard_u = int(ulimit.get("Soft", 0)), int(ulimit.get("Hard", 0))
        if soft > hard_u:
            raise InvalidParameter(
                f"ulimit soft limit must be less than or equal to hard limit: {soft} > {hard_u}"
            )
        limits[name] = {"type": name, "soft": soft, "hard": hard_u}
    return list(limits.values())


def _paths(given: list[str] | None, default: list[str]) -> list[str]:
    """Docker's rule: absent means the defaults; empty (`systempaths=unconfined`) means none."""
    return list(default) if given is None else list(given)


def _resources(host_config: dict[str, Any], privileged: bool) -> dict[str, Any]:
    res: dict[str, Any] = {
        "devices": [{"allow": True, "access": "rwm"}]
        if privileged
        else [dict(r) for r in DEFAULT_DEVICE_RULES]
    }
    memory: dict[str, Any] = {}
    limit = int(host_config.get("Memory") or 0)
    swap = int(host_config.get("MemorySwap") or 0)
    if limit > 0:
        memory["limit"] = limit
        # Docker: MemorySwap unset -> as much swap as memory (total 2x); -1 -> unlimited swap.
        memory["swap"] = swap if swap != 0 else 2 * limit
    if host_config.get("MemoryReservation"):
        memory["reservation"] = int(host_config["MemoryReservation"])
    if host_config.get("MemorySwappiness") not in (None, -1):
        memory["swappiness"] = int(host_config["MemorySwappiness"])
    if host_config.get("OomKillDisable"):
        memory["disableOOMKiller"] = True
    if memory:
        res["memory"] = memory
    cpu: dict[str, Any] = {}
    nano = int(host_config.get("NanoCpus") or 0)
    if nano and (host_config.get("CpuQuota") or host_config.get("CpuPeriod")):
        raise InvalidParameter("Conflicting options: Nano CPUs and CPU Period cannot both be set")
    if nano:
        cpu["period"] = 100000
        cpu["quota"] = nano * 100000 // 1_000_000_000
    if host_config.get("CpuQuota"):
        cpu["quota"] = int(host_config["CpuQuota"])
    if host_config.get("CpuPeriod"):
        cpu["period"] = int(host_config["CpuPeriod"])
    if host_config.get("CpuShares"):
        cpu["shares"] = int(host_config["CpuShares"])
    if host_config.get("CpusetCpus"):
        cpu["cpus"] = str(host_config["CpusetCpus"])
    if host_config.get("CpusetMems"):
        cpu["mems"] = str(host_config["CpusetMems"])
    if cpu:
        res["cpu"] = cpu
    pids = host_config.get("PidsLimit")
    if pids is not None and int(pids) > 0:
        res["pids"] = {"limit": int(pids)}
    return res


def live_resources(host_config: dict[str, Any]) -> dict[str, Any]:
    """The linux.resources a running container's cgroup takes from `docker update` (memory, cpu, pids),
    computed from its whole updated HostConfig exactly as a start would; device rules never change live."""
    res = _resources(host_config, False)
    return {key: res[key] for key in ("memory", "cpu", "pids") if key in res}


def _namespaces(host_config: dict[str, Any], netns_path: str | None,
                ns_paths: Mapping[str, str]) -> list[dict[str, Any]]:
    spaces: list[dict[str, Any]] = [{"type": "mount"}]
    for kind, key in (("pid", "PidMode"), ("ipc", "IpcMode"), ("uts", "UTSMode")):
        if ns_paths.get(kind):
            spaces.append({"type": kind, "path": ns_paths[kind]})  # "container:<id>": the caller resolved it
        elif host_config.get(key) != "host":
            spaces.append({"type": kind})
    if netns_path:
        spaces.append({"type": "network", "path": netns_path})
    elif host_config.get("NetworkMode") != "host":
        spaces.append({"type": "network"})
    # Docker's default: a private cgroup namespace on cgroup v2 hosts, the host's on v1 hosts.
    mode = host_config.get("CgroupnsMode") or ("private" if detect_version() == 2 else "host")
    if mode == "private":
        spaces.append({"type": "cgroup"})
    return spaces


_init_found: str | None = None


def find_init() -> str | None:
    """The init binary for `--init`: searched on PATH once per process (a search is a few dozen stats, in
    every container start), searched again when the one found went away."""
    global _init_found
    if _init_found is not None and os.access(_init_found, os.X_OK):
        return _init_found
    # imported here: shutil (bz2, lzma...) would cost every monitor ~0.6 MiB (init imports this module)
    from shutil import which

    _init_found = next((p for p in map(which, INIT_CANDIDATES) if p), None)
    return _init_found


def build_spec(
    config: dict[str, Any],
    host_config: dict[str, Any],
    *,
    rootfs: Path,
    mounts: list[dict[str, Any]],
    hostname: str,
    cgroups_path: str,
    netns_path: str | None,
    user: ResolvedUser,
    ns_paths: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """`ns_paths` joins existing namespaces by type ("pid", "ipc", "uts"), e.g. {"pid": "/proc/123/ns/pid"}
    for PidMode "container:<id>"; the network namespace comes from `netns_path`."""
    args = list(config.get("Entrypoint") or []) + list(config.get("Cmd") or [])
    if not args:
        raise InvalidParameter("no command specified")
    privileged = bool(host_config.get("Privileged"))
    tty = bool(config.get("Tty"))
    security = seccomp.parse_security_opts(str(o) for o in host_config.get("SecurityOpt") or [])
    cap_list = caps.tweak(host_config.get("CapAdd"), host_config.get("CapDrop"), privileged)
    shm = int(host_config.get("ShmSize") or 0) or DEFAULT_SHM_SIZE

    user_mounts = [dict(m) for m in mounts]
    if host_config.get("Init"):
        init = find_init()
        if init is None:
            raise InvalidParameter("docker-init binary not found on the engine host (install tini)")
        user_mounts.append(
            {
                "destination": INIT_PATH,
                "type": "bind",
                "source": init,
                "options": ["bind", "ro", "nosuid", "nodev"],
            }
        )
        args = [INIT_PATH, "--", *args]
    # A user mount on a default destination replaces the default, as in Docker.
    taken = {m["destination"] for m in user_mounts}
    all_mounts = [
        m for m in _default_mounts(shm, not privileged) if m["destination"] not in taken
    ] + user_mounts

    gids = list(user.additional_gids)
    for g in host_config.get("GroupAdd") or []:
        gid = int(g) if str(g).isdigit() else resolve_user(rootfs, f"0:{g}").gid
        if gid not in gids:
            gids.append(gid)

    devices, device_rules = host_devices(host_config, privileged)
    resources = _resources(host_config, privileged)
    resources["devices"] += device_rules
    linux: dict[str, Any] = {
        "namespaces": _namespaces(host_config, netns_path, ns_paths or {}),
        "resources": resources,
        "devices": devices,
        "cgroupsPath": cgroups_path,
        "sysctl": {str(k): str(v) for k, v in (host_config.get("Sysctls") or {}).items()},
        "maskedPaths": [] if privileged else _paths(host_config.get("MaskedPaths"), MASKED_PATHS),
        "readonlyPaths": [] if privileged else _paths(host_config.get("ReadonlyPaths"), READONLY_PATHS),
        "rootfsPropagation": "private",
    }
    sysctl.check_spec(linux)  # a record stored before create checked them must not reach the host either
    profile = seccomp.linux_seccomp(security, privileged, cap_list)
    if profile is not None:
        linux["seccomp"] = profile
    spec: dict[str, Any] = {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": tty,
            "user": {"uid": user.uid, "gid": user.gid, "additionalGids": gids},
            "args": args,
            "env": _env(config, hostname, tty, user.home),
            "cwd": config.get("WorkingDir") or "/",
            "capabilities": {"bounding": cap_list, "effective": cap_list, "permitted": cap_list},
            "rlimits": _rlimits(host_config),
            "noNewPrivileges": security.no_new_privileges,
            "oomScoreAdj": int(host_config.get("OomScoreAdj") or 0),
        },
        "root": {"path": str(rootfs), "readonly": bool(host_config.get("ReadonlyRootfs"))},
        "hostname": hostname,
        "mounts": all_mounts,
        "linux": linux,
    }
    if config.get("Domainname"):
        spec["domainname"] = str(config["Domainname"])
    return spec
