"""System routes: /_ping, /version, /info, /events."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import socket
import time
from typing import Any

import engine
from engine.api import web
from engine.api.backends import Backends, Route, backends
from engine.api.params import json_response, qfilters, qstr, timestamp_ns
from engine.api.version import API_VERSION, MIN_API_VERSION
from engine.config import DEFAULT_RUNTIME
from engine.events import EventFilter

GO_OS = "linux"
GO_ARCH = {
    "x86_64": "amd64",
    "aarch64": "arm64",
    "armv7l": "arm",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
}.get(platform.machine(), platform.machine())


def _ping_headers() -> dict[str, str]:
    return {
        "Api-Version": API_VERSION,
        "Docker-Experimental": "false",
        "Ostype": GO_OS,
        "Builder-Version": "1",  # the classic builder: the CLI then uses POST /build
        "Swarm": "inactive",
        "Cache-Control": "no-cache, no-store, must-revalidate",
        "Pragma": "no-cache",
    }


async def ping(request: web.Request) -> web.StreamResponse:
    # the connection leaves the body out of a HEAD answer by itself
    return web.Response(body=b"OK", content_type="text/plain", headers=_ping_headers())


def _kernel() -> str:
    return platform.release()


async def version(request: web.Request) -> web.StreamResponse:
    b = backends(request)
    build_time = time.strftime("%Y-%m-%dT%H:%M:%S.000000000+00:00", time.gmtime(b.started_at))
    details = {
        "ApiVersion": API_VERSION,
        "Arch": GO_ARCH,
        "BuildTime": build_time,
        "Experimental": "false",
        "GitCommit": "composer",
        "GoVersion": f"python{platform.python_version()}",
        "KernelVersion": _kernel(),
        "MinAPIVersion": MIN_API_VERSION,
        "Os": GO_OS,
    }
    data = {
        "Platform": {"Name": "Composer Engine"},
        "Components": [{"Name": "Engine", "Version": engine.__version__, "Details": details}],
        "Version": engine.__version__,
        "ApiVersion": API_VERSION,
        "MinAPIVersion": MIN_API_VERSION,
        "GitCommit": "composer",
        "GoVersion": details["GoVersion"],
        "Os": GO_OS,
        "Arch": GO_ARCH,
        "KernelVersion": _kernel(),
        "BuildTime": build_time,
    }
    return json_response(data)


def _os_release() -> dict[str, str]:
    try:
        return platform.freedesktop_os_release()
    except OSError:
        return {}


def _os_name() -> str:
    return _os_release().get("PRETTY_NAME", "Linux")


def _mem_total() -> int:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _cgroup_version() -> str:
    return "2" if os.path.exists("/sys/fs/cgroup/cgroup.controllers") else "1"


def _images_count(b: Backends) -> int:
    try:
        return len(b.images.list())
    except Exception:  # an image store mid-change must not break `docker info`
        return 0


async def info(request: web.Request) -> web.StreamResponse:
    b = backends(request)
    counts = b.containers.counts()
    cfg = b.config
    runtimes: dict[str, Any] = {
        "composer": {"path": "composer-engine (built-in)"},
        "runc": {"path": cfg.runtimes.get("runc", "runc")},
    }
    for name, path in cfg.runtimes.items():
        runtimes[name] = {"path": path}
    data = {
        "ID": b.engine_id,
        "Containers": counts["total"],
        "ContainersRunning": counts["running"],
        "ContainersPaused": counts["paused"],
        "ContainersStopped": counts["stopped"],
        "Images": _images_count(b),
        "Driver": "overlay2",
        "DriverStatus": [["Backing Filesystem", "extfs"], ["Supports d_type", "true"]],
        "Plugins": {
            "Volume": ["local"],
            "Network": ["bridge", "host", "null"],
            "Authorization": None,
            "Log": ["json-file"],
        },
        "MemoryLimit": True,
        "SwapLimit": True,
        "CpuCfsPeriod": True,
        "CpuCfsQuota": True,
        "CPUShares": True,
        "CPUSet": True,
        "PidsLimit": True,
        "IPv4Forwarding": True,
        "BridgeNfIptables": False,
        "BridgeNfIp6tables": False,
        "Debug": cfg.debug,
        "OomKillDisable": _cgroup_version() == "1",
        "NFd": len(os.listdir("/proc/self/fd")),
        "NGoroutines": len(asyncio.all_tasks()),
        "SystemTime": time.strftime("%Y-%m-%dT%H:%M:%S.000000000Z", time.gmtime()),
        "LoggingDriver": "json-file",
        "CgroupDriver": "cgroupfs",
        "CgroupVersion": _cgroup_version(),
        "NEventsListener": b.events.listeners,
        "KernelVersion": _kernel(),
        "OperatingSystem": _os_name(),
        "OSVersion": _os_release().get("VERSION_ID", ""),
        "OSType": GO_OS,
        "Architecture": platform.machine(),
        "IndexServerAddress": "https://index.docker.io/v1/",
        "RegistryConfig": {
            "AllowNondistributableArtifactsCIDRs": None,
            "AllowNondistributableArtifactsHostnames": None,
            "InsecureRegistryCIDRs": ["127.0.0.0/8"],
            "IndexConfigs": {
                name: {"Name": name, "Mirrors": [], "Secure": False, "Official": False}
                for name in cfg.insecure_registries
            },
            "Mirrors": list(cfg.registry_mirrors),
        },
        "NCPU": os.cpu_count() or 1,
        "MemTotal": _mem_total(),
        "GenericResources": None,
        "DockerRootDir": str(cfg.data_root),
        "HttpProxy": "",
        "HttpsProxy": "",
        "NoProxy": "",
        "Name": socket.gethostname(),
        "Labels": [],
        "ExperimentalBuild": False,
        "ServerVersion": engine.__version__,
        "Runtimes": runtimes,
        # clients expect dockerd's name; containers without a runtime run on the built-in one, which
        # also stays selectable as "composer" (and "runc" runs the runc binary: the same OCI bundle)
        "DefaultRuntime": "runc" if cfg.default_runtime == DEFAULT_RUNTIME else cfg.default_runtime,
        "Swarm": {
            "NodeID": "",
            "NodeAddr": "",
            "LocalNodeState": "inactive",
            "ControlAvailable": False,
            "Error": "",
            "RemoteManagers": None,
        },
        "LiveRestoreEnabled": True,  # containers outlive the daemon
        "Isolation": "",
        "InitBinary": "",
        "ContainerdCommit": {"ID": ""},
        "RuncCommit": {"ID": ""},
        "InitCommit": {"ID": ""},
        # as dockerd reports them: seccomp with its built-in default profile, and cgroup namespaces on v2
        "SecurityOptions": ["name=seccomp,profile=builtin"]
        + (["name=userns"] if cfg.userns_remap else [])
        + (["name=cgroupns"] if _cgroup_version() == "2" else []),
        "Warnings": None,
    }
    return json_response(data)


async def events(request: web.Request) -> web.StreamResponse:
    b = backends(request)
    since = timestamp_ns(qstr(request, "since"), "since")
    until = timestamp_ns(qstr(request, "until"), "until")
    flt = EventFilter(qfilters(request))
    resp = web.StreamResponse(headers={"Content-Type": "application/json"})
    await resp.prepare(request)
    try:
        async for ev in b.events.stream(since, until, flt):
            await resp.write(json.dumps(ev.to_json()).encode() + b"\n")
    except (ConnectionResetError, asyncio.CancelledError):
        return resp
    await resp.write_eof()
    return resp


def routes() -> list[Route]:
    return [
        ("GET", "/_ping", ping),
        ("GET", "/version", version),
        ("GET", "/info", info),
        ("GET", "/events", events),
    ]
