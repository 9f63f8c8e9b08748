"""Turning a create request (Config + HostConfig) and the image into a normalized container config.

Pure functions: no I/O except what the caller hands in. Errors use Docker's wording.
"""

from __future__ import annotations

import os
import re
from typing import Any

from engine.errors import InvalidParameter
from engine.runtime import caps, seccomp

RESTART_POLICIES = ("", "no", "always", "on-failure", "unless-stopped")
DEFAULT_SHM_SIZE = 64 * 1024 * 1024
DEFAULT_STOP_TIMEOUT = 10
NETWORK_MODES_WITHOUT_NETWORKING = ("none", "host", "bridge", "default")

_HOSTNAME_RE = re.compile(r"^[a-zA-Z0-9]([a-zA-Z0-9.-]{0,253})$")


# What dockerd shows for a HostConfig field the client left out (inspect, and `-f '{{.HostConfig.X}}'`).
HOST_CONFIG_DEFAULTS: dict[str, Any] = {
    "Binds": None,
    "ContainerIDFile": "",
    "PortBindings": {},
    "AutoRemove": False,
    "VolumeDriver": "",
    "VolumesFrom": None,
    "ConsoleSize": [0, 0],
    "CapAdd": None,
    "CapDrop": None,
    "Dns": [],
    "DnsOptions": [],
    "DnsSearch": [],
    "ExtraHosts": None,
    "GroupAdd": None,
    "IpcMode": "private",
    "Cgroup": "",
    "Links": None,
    "OomScoreAdj": 0,
    "PidMode": "",
    "Privileged": False,
    "PublishAllPorts": False,
    "ReadonlyRootfs": False,
    "SecurityOpt": None,
    "UTSMode": "",
    "UsernsMode": "",
    "Runtime": "",
    "Isolation": "",
    "CpuShares": 0,
    "Memory": 0,
    "NanoCpus": 0,
    "CgroupParent": "",
    "BlkioWeight": 0,
    "BlkioWeightDevice": [],
    "BlkioDeviceReadBps": [],
    "BlkioDeviceWriteBps": [],
    "BlkioDeviceReadIOps": [],
    "BlkioDeviceWriteIOps": [],
    "CpuPeriod": 0,
    "CpuQuota": 0,
    "CpuRealtimePeriod": 0,
    "CpuRealtimeRuntime": 0,
    "CpusetCpus": "",
    "CpusetMems": "",
    "Devices": [],
    "DeviceCgroupRules": None,
    "DeviceRequests": None,
    "MemoryReservation": 0,
    "MemorySwap": 0,
    "MemorySwappiness": None,
    "OomKillDisable": None,
    "PidsLimit": None,
    "Ulimits": None,
    "CpuCount": 0,
    "CpuPercent": 0,
    "IOMaximumIOps": 0,
    "IOMaximumBandwidth": 0,
    "Mounts": [],
    "Tmpfs": None,
    "Sysctls": None,
    "Init": None,
    "MaskedPaths": None,
    "ReadonlyPaths": None,
}


def _env_merge(image_env: list[str], user_env: list[str]) -> list[str]:
    out: dict[str, str] = {}
    for item in image_env + user_env:
        key, sep, _ = item.partition("=")
        if not key:
            raise InvalidParameter(f"invalid environment variable: {item}")
        if sep:
            out[key] = item
        else:  # "KEY" without "=": the client meant "take it from my environment"; dockerd drops it
            out.pop(key, None)
    return list(out.values())


def _strlist(value: Any, what: str) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise InvalidParameter(f"invalid {what}: expected a list of strings")


def merge_config(req: dict[str, Any], image_config: dict[str, Any], cid: str) -> dict[str, Any]:
    """Docker's Config for inspect: the request over the image's defaults."""
    img = image_config.get("config") or image_config.get("Config") or {}
    user_entrypoint = _strlist(req.get("Entrypoint"), "Entrypoint")
    user_cmd = _strlist(req.get("Cmd"), "Cmd")
    if user_entrypoint is not None:
        entrypoint = user_entrypoint or None
        # a new entrypoint drops the image's Cmd, as dockerd does
        cmd = user_cmd
    else:
        entrypoint = img.get("Entrypoint")
        cmd = user_cmd if user_cmd else img.get("Cmd")
    labels = dict(img.get("Labels") or {})
    labels.update(req.get("Labels") or {})
    volumes = dict(img.get("Volumes") or {})
    volumes.update(req.get("Volumes") or {})
    exposed = dict(img.get("ExposedPorts") or {})
    exposed.update(req.get("ExposedPorts") or {})
    env = _env_merge(list(img.get("Env") or []), _strlist(req.get("Env"), "Env") or [])
    hostname = req.get("Hostname") or cid[:12]
    if not _HOSTNAME_RE.match(hostname):
        raise InvalidParameter(f"invalid hostname format: {hostname}")
    healthcheck = req.get("Healthcheck") or img.get("Healthcheck")
    out: dict[str, Any] = {
        "Hostname": hostname,
        "Domainname": req.get("Domainname", ""),
        "User": req.get("User") or img.get("User", ""),
        "AttachStdin": bool(req.get("AttachStdin", False)),
        "AttachStdout": bool(req.get("AttachStdout", False)),
        "AttachStderr": bool(req.get("AttachStderr", False)),
        "ExposedPorts": exposed or None,
        "Tty": bool(req.get("Tty", False)),
        "OpenStdin": bool(req.get("OpenStdin", False)),
        "StdinOnce": bool(req.get("StdinOnce", False)),
        "Env": env,
        "Cmd": cmd,
        "Image": req.get("Image", ""),
        "Volumes": volumes or None,
        "WorkingDir": req.get("WorkingDir") or img.get("WorkingDir", ""),
        "Entrypoint": entrypoint,
        "OnBuild": None,
        "Labels": labels,
    }
    if healthcheck:
        out["Healthcheck"] = healthcheck
    stop_signal = req.get("StopSignal") or img.get("StopSignal")
    if stop_signal:
        out["StopSignal"] = stop_signal
    if req.get("StopTimeout") is not None:
        out["StopTimeout"] = int(req["StopTimeout"])
    if not (entrypoint or []) + (cmd or []):
        raise InvalidParameter("no command specified")
    return out


def _check_restart(policy: dict[str, Any], auto_remove: bool) -> dict[str, Any]:
    name = policy.get("Name") or "no"
    if name not in RESTART_POLICIES:
        raise InvalidParameter(
            f"invalid restart policy: unknown policy '{name}'; use one of "
            "'no', 'always', 'on-failure', or 'unless-stopped'"
        )
    retries = int(policy.get("MaximumRetryCount") or 0)
    if retries < 0:
        raise InvalidParameter("invalid restart policy: maximum retry count can't be negative")
    if retries and name != "on-failure":
        raise InvalidParameter(
            "invalid restart policy: maximum retry count can only be used with 'on-failure'"
        )
    if auto_remove and name != "no":
        raise InvalidParameter("can't create 'AutoRemove' container with restart policy")
    return {"Name": name, "MaximumRetryCount": retries}


def normalize_host_config(hc: dict[str, Any] | None, *, networks: bool = False) -> dict[str, Any]:
    """HostConfig with dockerd's defaults filled and its validations applied."""
    hc = dict(hc or {})
    mode = hc.get("NetworkMode") or "bridge"
    if mode == "default":
        mode = "bridge"
    # with networking (networks=True), engine.network checks user-defined network names at create
    if not networks and mode not in NETWORK_MODES_WITHOUT_NETWORKING and not mode.startswith("container:"):
        raise InvalidParameter(f"network {mode} not found")  # user-defined networks come with networking
    hc["NetworkMode"] = mode
    hc["RestartPolicy"] = _check_restart(hc.get("RestartPolicy") or {}, bool(hc.get("AutoRemove")))
    memory = int(hc.get("Memory") or 0)
    if 0 < memory < 6 * 1024 * 1024:
        raise InvalidParameter("Minimum memory limit allowed is 6MB")
    swap = int(hc.get("MemorySwap") or 0)
    if memory and swap > 0 and swap < memory:
        raise InvalidParameter(
            "Minimum memoryswap limit should be larger than memory limit, see usage for details"
        )
    if hc.get("NanoCpus") and (hc.get("CpuQuota") or hc.get("CpuPeriod")):
        raise InvalidParameter("Conflicting options: Nano CPUs and CPU Period cannot both be set")
    nano = int(hc.get("NanoCpus") or 0)
    cpus = os.cpu_count() or 1
    if nano < 0 or nano > cpus * 1_000_000_000:
        raise InvalidParameter(
            f"Range of CPUs is from 0.01 to {cpus}.00, as there are only {cpus} CPUs available"
        )
    shm = int(hc.get("ShmSize") or 0)
    if shm < 0:
        raise InvalidParameter("SHM size can not be less than 0")
    hc["ShmSize"] = shm or DEFAULT_SHM_SIZE
    log_config = hc.get("LogConfig") or {}
    log_type = log_config.get("Type") or "json-file"
    if log_type not in ("json-file", "none", "local"):
        raise InvalidParameter(f"logger: no log driver named '{log_type}' is registered")
    hc["LogConfig"] = {"Type": log_type, "Config": dict(log_config.get("Config") or {})}
    for key in ("CapAdd", "CapDrop"):  # a StrSlice: one string or a list of them
        if isinstance(hc.get(key), str):
            hc[key] = [hc[key]]
    for key in (
        "Binds",
        "CapAdd",
        "CapDrop",
        "ExtraHosts",
        "Dns",
        "DnsOptions",
        "DnsSearch",
        "Links",
        "VolumesFrom",
        "SecurityOpt",
        "GroupAdd",
    ):
        value = hc.get(key)
        if value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            raise InvalidParameter(f"invalid HostConfig.{key}: expected a list of strings")
    for extra in hc.get("ExtraHosts") or []:
        parse_extra_host(extra)
    _check_security_opts(hc)
    for key, default in HOST_CONFIG_DEFAULTS.items():
        if hc.get(key) is None and default is not None:
            hc[key] = default
        else:
            hc.setdefault(key, default)
    hc.setdefault(
        "CgroupnsMode", "private" if os.path.exists("/sys/fs/cgroup/cgroup.controllers") else "host"
    )
    return hc


def _check_security_opts(hc: dict[str, Any]) -> None:
    """Bad SecurityOpt, or a seccomp profile that cannot be compiled, is a 400 at create (not a failed
    start). The profile is resolved against the container's capabilities, as at start."""
    opts = seccomp.parse_security_opts(hc.get("SecurityOpt") or [])
    privileged = bool(hc.get("Privileged"))
    if opts.seccomp and not privileged:
        seccomp.linux_seccomp(opts, privileged, caps.tweak(hc.get("CapAdd"), hc.get("CapDrop"), privileged))


def parse_extra_host(extra: str) -> tuple[str, str]:
    """ "name:ip" or "name=ip" (IPv6 addresses contain colons, so split on the first separator)."""
    if "=" in extra:
        name, _, ip = extra.partition("=")
    else:
        name, _, ip = extra.partition(":")
    if not name or not ip:
        raise InvalidParameter(f'bad format for add-host: "{extra}"')
    return name, ip


def stop_timeout(config: dict[str, Any], override: int | None) -> int:
    if override is not None:
        return override
    value = config.get("StopTimeout")
    return DEFAULT_STOP_TIMEOUT if value is None else int(value)
