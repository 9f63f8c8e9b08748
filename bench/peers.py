"""The peers our engine is measured against: a private dockerd (20.10, with its own containerd; the helper
lives in tests/support/dockerd.py, shared with the e2e test that runs one project against both engines)
and podman (4.3, for podman-compose), each with state in a temp dir and everything it made removed
afterwards.

podman gets a private containers.conf (runc, cgroupfs), storage.conf and CNI config dir; the iptables
chains its CNI plugins add (CNI-*) are removed again rule by rule, never by restoring a whole snapshot
(that would undo other sessions' rules).
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support import busybox
from tests.support.dockerd import (  # noqa: F401  (re-exported for the bench scripts)
    DOCKER,
    dockerd_installed,
    firewall_guard,
    kill_all,
    links,
    peer_pids,
    pids_mentioning,
    private_dockerd,
    remove_cgroups,
    remove_peer_links,
    unmount_under,
)

PODMAN_SUBNET = "10.215.0.0/24"


def podman_installed() -> bool:
    return shutil.which("podman") is not None


@contextmanager
def private_podman() -> Iterator[dict[str, str]]:
    """Env for podman / podman-compose: private storage, runtime and network config; busybox imported."""
    before = links()
    with firewall_guard(), tempfile.TemporaryDirectory(prefix="bench-podman-", dir="/tmp") as tmp:
        t = Path(tmp)
        (t / "cni").mkdir()
        (t / "containers.conf").write_text(
            "[containers]\n"
            # podman's catatonit is not packaged here; tini (a docker.io dependency) is
            'init_path = "/usr/bin/tini-static"\n'
            # podman raises nofile/nproc over this sandbox's hard limits (no CAP_SYS_RESOURCE): runc fails
            f"default_ulimits = {_ulimits()}\n"
            "[engine]\n"
            'runtime = "runc"\n'
            'cgroup_manager = "cgroupfs"\n'
            'events_logger = "file"\n'
            f'tmp_dir = "{tmp}/tmp"\n'
            "[network]\n"
            'network_backend = "cni"\n'
            f'network_config_dir = "{tmp}/cni"\n'
            f'default_subnet = "{PODMAN_SUBNET}"\n'
            'default_subnet_pools = [{"base" = "10.216.0.0/16", "size" = 24}]\n'
        )
        (t / "storage.conf").write_text(
            f'[storage]\ndriver = "overlay"\ngraphroot = "{tmp}/root"\nrunroot = "{tmp}/run"\n'
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "CONTAINERS_"))}
        env.update(
            {
                "CONTAINERS_CONF": str(t / "containers.conf"),
                "CONTAINERS_STORAGE_CONF": str(t / "storage.conf"),
                "XDG_RUNTIME_DIR": str(t / "xdg"),
            }
        )
        (t / "xdg").mkdir()
        try:
            with tempfile.NamedTemporaryFile(suffix=".tar") as tar:
                tar.write(busybox.rootfs_tar_bytes())
                tar.flush()
                subprocess.run(
                    ["podman", "import", tar.name, "docker.io/library/busybox:latest"],
                    env=env,
                    capture_output=True,
                    check=True,
                )
            yield env
        finally:
            subprocess.run(["podman", "rm", "-af", "-t", "0"], env=env, capture_output=True)
            subprocess.run(["podman", "pod", "rm", "-af"], env=env, capture_output=True)
            subprocess.run(["podman", "network", "prune", "-f"], env=env, capture_output=True)
            subprocess.run(["podman", "system", "reset", "-f"], env=env, capture_output=True)
            kill_all(pids_mentioning(tmp))
            unmount_under(t)
            remove_peer_links(before)
            remove_cgroups("libpod_parent")


def _ulimits() -> str:
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)
    nproc = resource.getrlimit(resource.RLIMIT_NPROC)
    fmt = [f"nofile={nofile[0]}:{nofile[1]}"]
    if nproc[1] != resource.RLIM_INFINITY:
        fmt.append(f"nproc={min(nproc[1], 4096)}:{min(nproc[1], 4096)}")
    return "[" + ", ".join(f'"{x}"' for x in fmt) + "]"
