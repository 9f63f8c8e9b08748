"""A real Docker Swarm cluster on this machine for tests and bench/: N dockerd nodes (Debian's docker.io),
each in network and UTS namespaces of its own (entered with nsenter, keeping the host's mount namespace so
cgroups are seen) with its own data-root, exec-root, containerd and firewall, joined by a bridge the
harness creates, initialised as a swarm (node 0 the manager), and a docker-registry the nodes pull from.
Everything is removed afterwards, also on failure.

    with swarm_cluster(3) as cluster:
        cluster.docker(0, "node", "ls")           # the docker CLI against node 0 (the manager)
        cluster.manager_env                       # DOCKER_HOST=unix://... of the manager, for composer
        cluster.registry                          # "10.231.N.11:PORT": push images here; nodes pull from it

Addresses: the bridge is 10.231.N.1/24 on the host (N from the pid), node i is 10.231.N.(11+i); the
registry listens in the first node's namespace. Each dockerd runs in its network namespace, so its
iptables rules, bridges and overlay VXLAN devices stay there and go away with it; its mounts are under the
temp dir and unmounted.
The kernel here has no IPVS: services use `endpoint_mode: dnsrr` and `mode: host` ports (VIPs and the
routing mesh cannot work).
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from tests.support import busybox
from tests.support.dockerd import DOCKER, kill_all, pids_mentioning, remove_cgroups, unmount_under
from tests.support.registry import Registry, start_registry

# Two clusters at once (a test run and a bench) must not share a subnet: the third octet follows the pid.
SUBNET = f"10.231.{os.getpid() % 250 + 1}"
BRIDGE_ADDRESS = f"{SUBNET}.1"
START_TIMEOUT = 60.0


@dataclass
class Node:
    index: int
    netns: str
    address: str
    root: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def socket(self) -> Path:
        return self.root / "docker.sock"

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
        env.update(
            {
                "DOCKER_HOST": f"unix://{self.socket}",
                "DOCKER_CONFIG": str(self.root),
                "DOCKER_CLI_HINTS": "false",
            }
        )
        return env


@dataclass
class Cluster:
    tag: str
    base: Path
    bridge: str
    nodes: list[Node] = field(default_factory=list)
    registry_server: Registry | None = None

    @property
    def manager_env(self) -> dict[str, str]:
        return self.nodes[0].env

    @property
    def registry(self) -> str:
        assert self.registry_server is not None
        return self.registry_server.host

    def docker(self, node: int, *args: str, check: bool = True, timeout: float = 120) -> str:
        result = subprocess.run(
            [DOCKER, *args], env=self.nodes[node].env, capture_output=True, text=True, timeout=timeout
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"docker {' '.join(args)} on node {node}: {result.stderr.strip()}")
        return result.stdout

    def in_netns(self, node: int, *argv: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["nsenter", f"--net=/run/netns/{self.nodes[node].netns}", *argv],
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def start_node(self, node: Node) -> None:
        """Start (or restart) a node's dockerd on its own state."""
        node.root.mkdir(parents=True, exist_ok=True)
        (node.root / "daemon.json").write_text(json.dumps({"insecure-registries": [f"{SUBNET}.0/24"]}))
        argv = [
            # a UTS namespace of its own too, so each node has its own hostname (placement by node.hostname)
            "unshare", "--uts", "--", "sh", "-c", 'hostname "$0" && exec "$@"', f"node{node.index}",
            "nsenter", f"--net=/run/netns/{node.netns}", "dockerd",
            "-H", f"unix://{node.socket}",
            "--data-root", str(node.root / "data"),
            "--exec-root", str(node.root / "exec"),
            "--pidfile", str(node.root / "docker.pid"),
            "--config-file", str(node.root / "daemon.json"),
            "--exec-opt", "native.cgroupdriver=cgroupfs",
            "--cgroup-parent", f"/{self.tag}-{node.index}",
            "--storage-driver", "overlay2",
        ]  # fmt: skip
        if Path("/usr/bin/tini-static").exists():
            argv += ["--init-path", "/usr/bin/tini-static"]
        with open(node.root / "dockerd.log", "ab") as log:
            node.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.monotonic() + START_TIMEOUT
        while subprocess.run([DOCKER, "version"], env=node.env, capture_output=True).returncode != 0:
            if node.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"node {node.index} did not start: {(node.root / 'dockerd.log').read_text()[-600:]}"
                )
            time.sleep(0.2)

    def kill_node(self, index: int) -> None:
        """Power-cut one node: its dockerd, containerd and every container process."""
        node = self.nodes[index]
        kill_all(pids_mentioning(str(node.root)))
        if node.process is not None:
            node.process.wait(10)

    def push_busybox(self, name: str = "busybox:latest") -> str:
        """Import the busybox rootfs on the manager, push it to the registry; returns the pushed reference."""
        ref = f"{self.registry}/{name}"
        subprocess.run(
            [DOCKER, "import", "-c", 'CMD ["sh"]', "-", ref],
            input=busybox.rootfs_tar_bytes(), env=self.manager_env, capture_output=True, check=True,
        )  # fmt: skip
        self.docker(0, "push", ref)
        return ref


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


def _network(cluster: Cluster, count: int, stack: ExitStack) -> None:
    _ip("link", "add", cluster.bridge, "type", "bridge")
    stack.callback(subprocess.run, ["ip", "link", "del", cluster.bridge], capture_output=True)
    _ip("addr", "add", f"{BRIDGE_ADDRESS}/24", "dev", cluster.bridge)
    _ip("link", "set", cluster.bridge, "up")
    for i in range(count):
        netns = f"{cluster.tag}-{i}"
        _ip("netns", "add", netns)
        stack.callback(subprocess.run, ["ip", "netns", "del", netns], capture_output=True)
        host_end = f"{cluster.tag[-6:]}h{i}"
        _ip("link", "add", host_end, "type", "veth", "peer", "name", "eth0", "netns", netns)
        stack.callback(subprocess.run, ["ip", "link", "del", host_end], capture_output=True)
        _ip("link", "set", host_end, "master", cluster.bridge, "up")
        address = f"{SUBNET}.{11 + i}"
        for args in (
            ("addr", "add", f"{address}/24", "dev", "eth0"),
            ("link", "set", "eth0", "up"),
            ("link", "set", "lo", "up"),
            ("route", "add", "default", "via", BRIDGE_ADDRESS),
        ):
            _ip("-n", netns, *args)
        cluster.nodes.append(Node(i, netns, address, cluster.base / f"n{i}"))


@contextmanager
def swarm_cluster(count: int = 3) -> Iterator[Cluster]:
    """`count` dockerd nodes as one swarm (node 0 manager, the rest workers) and a registry."""
    with tempfile.TemporaryDirectory(prefix="t-swarm-", dir="/tmp") as tmp, ExitStack() as stack:
        tag = f"tsw{os.getpid() % 100000}"
        cluster = Cluster(tag, Path(tmp), f"{tag}br")
        stack.callback(_teardown, cluster)
        _network(cluster, count, stack)
        for node in cluster.nodes:
            cluster.start_node(node)
        manager = cluster.nodes[0]
        cluster.docker(
            0,
            "swarm",
            "init",
            "--advertise-addr",
            manager.address,
            "--listen-addr",
            f"{manager.address}:2377",
        )
        token = cluster.docker(0, "swarm", "join-token", "-q", "worker").strip()
        for node in cluster.nodes[1:]:
            cluster.docker(
                node.index,
                "swarm",
                "join",
                "--token",
                token,
                "--advertise-addr",
                node.address,
                f"{manager.address}:2377",
            )
        cluster.registry_server = start_registry(
            cluster.base / "registry", bind=manager.address, netns=manager.netns
        )
        yield cluster


def _teardown(cluster: Cluster) -> None:
    """Stop every process the cluster started, then its mounts and cgroups (the namespaces, bridge and veths
    are removed by the callbacks that made them)."""
    if cluster.registry_server is not None:
        cluster.registry_server.stop()
    for node in cluster.nodes:  # nothing to keep: a power cut is faster than swarm's graceful leave
        kill_all(pids_mentioning(str(node.root)))
        if node.process is not None:
            with suppress(subprocess.TimeoutExpired):
                node.process.wait(10)
    time.sleep(0.2)
    unmount_under(cluster.base)
    for node in cluster.nodes:
        remove_cgroups(f"{cluster.tag}-{node.index}")
