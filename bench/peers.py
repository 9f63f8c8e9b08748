"""The peers our engine is measured against: a private dockerd (20.10, with its own containerd) and podman
(4.3, for podman-compose), each with state in a temp dir and everything it made removed afterwards.

Both share the machine with other test runs, so they are kept off the host's shared state:
- dockerd runs with --iptables=false --ip-forward=false (no firewall rules, no FORWARD policy change), its
  default bridge on a private --bip and its networks from a private address pool, its cgroups under a
  private --cgroup-parent; after it stops, its processes, mounts, bridges and cgroups are removed.
- podman gets a private containers.conf (runc, cgroupfs), storage.conf and CNI config dir; the iptables
  chains its CNI plugins add (CNI-*) are removed again rule by rule, never by restoring a whole snapshot
  (that would undo other sessions' rules).
"""

from __future__ import annotations

import logging
import os
import resource
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from engine_common import DOCKER, unmount_under

from tests.support import busybox

log = logging.getLogger(__name__)

DOCKERD_BIP = "10.213.0.1/24"  # docker0; no route on this machine uses 10.213/10.214
DOCKERD_POOL = "base=10.214.0.0/16,size=24"
PODMAN_SUBNET = "10.215.0.0/24"
PEER_ADDRESS_PREFIXES = ("10.213.", "10.214.", "10.215.", "10.216.")
PEER_CHAIN_PREFIXES = ("CNI-", "DOCKER", "NETAVARK")


def dockerd_installed() -> bool:
    return shutil.which("dockerd") is not None and shutil.which("containerd") is not None


def podman_installed() -> bool:
    return shutil.which("podman") is not None


def _links() -> set[str]:
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    return {line.split(":", 2)[1].strip().split("@")[0] for line in out.splitlines() if ":" in line}


def _remove_peer_links(before: set[str]) -> None:
    """Delete the bridges the peer left behind (new since `before`, holding an address from the peers'
    private ranges) and the veths still enslaved to them. Other sessions' bridges (our engine also names
    its bridges br-<id>) are never matched: they hold other addresses."""
    out = subprocess.run(["ip", "-o", "-4", "addr", "show"], capture_output=True, text=True).stdout
    bridges = {
        line.split()[1]
        for line in out.splitlines()
        if len(line.split()) > 3 and line.split()[3].startswith(PEER_ADDRESS_PREFIXES)
    } - before
    for link in _links() - before:
        master = Path("/sys/class/net", link, "master")
        if master.exists() and master.resolve().name in bridges:
            subprocess.run(["ip", "link", "del", link], capture_output=True)
    for bridge in bridges:
        subprocess.run(["ip", "link", "del", bridge], capture_output=True)


def _pids_mentioning(text: str) -> list[int]:
    """Processes whose command line names `text` (the peer's private temp dir)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if text.encode() in f.read():
                    found.append(int(entry))
        except OSError:
            continue
    return found


def _kill_all(pids: list[int]) -> None:
    for pid in pids:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _remove_cgroups(name: str) -> None:
    """rmdir the private cgroup parent in every v1 hierarchy (or the v2 tree), deepest first."""
    base = Path("/sys/fs/cgroup")
    for top in [base / name, *(d / name for d in base.iterdir() if d.is_dir())]:
        if not top.is_dir():
            continue
        for sub in sorted(
            (p for p in top.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True
        ):
            with suppress(OSError):
                sub.rmdir()
        with suppress(OSError):
            top.rmdir()


def peer_pids(tmp: str) -> list[int]:
    """dockerd, its containerd and the shims: the processes with the private dir on their command line."""
    return _pids_mentioning(tmp)


@contextmanager
def private_dockerd(
    with_busybox: bool = True,
) -> Iterator[tuple[dict[str, str], str, subprocess.Popen[bytes]]]:
    """A dockerd on a private socket and state dirs; yields (docker CLI env, its temp dir, its process)."""
    before = _links()
    with firewall_guard(), tempfile.TemporaryDirectory(prefix="bench-dockerd-", dir="/tmp") as tmp:
        cgroup_parent = f"bench-dockerd-{os.getpid()}"
        sock = Path(tmp) / "docker.sock"
        env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
        env.update({"DOCKER_HOST": f"unix://{sock}", "DOCKER_CONFIG": tmp, "DOCKER_CLI_HINTS": "false"})
        argv = [
            "dockerd",
            "-H",
            f"unix://{sock}",
            "--data-root",
            f"{tmp}/data",
            "--exec-root",
            f"{tmp}/exec",
            "--pidfile",
            f"{tmp}/docker.pid",
            "--bip",
            DOCKERD_BIP,
            "--default-address-pool",
            DOCKERD_POOL,
            "--iptables=false",
            "--ip6tables=false",
            "--ip-forward=false",
            "--ip-masq=false",
            "--exec-opt",
            "native.cgroupdriver=cgroupfs",
            "--cgroup-parent",
            f"/{cgroup_parent}",
            "--config-file",
            f"{tmp}/daemon.json",
            "--storage-driver",
            "overlay2",
        ]
        if shutil.which("docker-init") is None and Path("/usr/bin/tini-static").exists():
            argv += ["--init-path", "/usr/bin/tini-static"]  # Debian's docker.io ships tini, not docker-init
        Path(tmp, "daemon.json").write_text("{}\n")
        with open(f"{tmp}/dockerd.log", "wb") as logf:  # the child keeps its own copy of the descriptor
            daemon = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=logf)
        try:
            deadline = time.monotonic() + 60
            while subprocess.run([DOCKER, "version"], env=env, capture_output=True).returncode != 0:
                if daemon.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(
                        "dockerd did not come up: " + Path(tmp, "dockerd.log").read_text()[-400:]
                    )
                time.sleep(0.2)
            if with_busybox:
                subprocess.run(
                    [DOCKER, "import", "-", "busybox:latest"],
                    input=busybox.rootfs_tar_bytes(),
                    env=env,
                    capture_output=True,
                    check=True,
                )
            yield env, tmp, daemon
        finally:
            ids = subprocess.run(
                [DOCKER, "ps", "-aq"], env=env, capture_output=True, text=True
            ).stdout.split()
            if ids:
                subprocess.run([DOCKER, "rm", "-f", *ids], env=env, capture_output=True)
            daemon.terminate()
            try:
                daemon.wait(30)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait()
            _kill_all(_pids_mentioning(tmp))  # containerd and shims outliving dockerd
            time.sleep(0.2)
            unmount_under(Path(tmp))
            _remove_peer_links(before)
            _remove_cgroups(cgroup_parent)


@contextmanager
def private_podman() -> Iterator[dict[str, str]]:
    """Env for podman / podman-compose: private storage, runtime and network config; busybox imported."""
    before = _links()
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
            _kill_all(_pids_mentioning(tmp))
            unmount_under(t)
            _remove_peer_links(before)
            _remove_cgroups("libpod_parent")


def _ulimits() -> str:
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)
    nproc = resource.getrlimit(resource.RLIMIT_NPROC)
    fmt = [f"nofile={nofile[0]}:{nofile[1]}"]
    if nproc[1] != resource.RLIM_INFINITY:
        fmt.append(f"nproc={min(nproc[1], 4096)}:{min(nproc[1], 4096)}")
    return "[" + ", ".join(f'"{x}"' for x in fmt) + "]"


def _iptables_rules() -> dict[str, tuple[set[str], list[str], dict[str, str]]]:
    """Per table: (chains, rule lines, builtin chain policies) from iptables-save."""
    out = subprocess.run(["iptables-save"], capture_output=True, text=True).stdout
    tables: dict[str, tuple[set[str], list[str], dict[str, str]]] = {}
    table = ""
    for line in out.splitlines():
        if line.startswith("*"):
            table = line[1:]
            tables[table] = (set(), [], {})
        elif line.startswith(":") and table:
            name, policy = line[1:].split()[:2]
            tables[table][0].add(name)
            if policy != "-":
                tables[table][2][name] = policy
        elif line.startswith("-A ") and table:
            tables[table][1].append(line)
    return tables


@contextmanager
def firewall_guard() -> Iterator[None]:
    """Remove the chains a peer added (CNI-*, DOCKER*, NETAVARK*) and the rules using them; restore policies.
    Only what the peer added is touched, so other sessions' concurrent rules survive."""
    before = _iptables_rules() if shutil.which("iptables-save") else {}
    try:
        yield
    finally:
        if before or shutil.which("iptables-save"):
            _undo_peer_rules(before)


def _undo_peer_rules(before: dict[str, tuple[set[str], list[str], dict[str, str]]]) -> None:
    after = _iptables_rules()
    for table, (chains, rules, policies) in after.items():
        old_chains, old_rules, old_policies = before.get(table, (set(), [], {}))
        new_chains = {c for c in chains - old_chains if c.startswith(PEER_CHAIN_PREFIXES)}
        old = set(old_rules)
        for line in rules:
            words = shlex.split(line)
            if line in old or not (set(words) & new_chains):
                continue
            subprocess.run(["iptables", "-t", table, "-D", *words[1:]], capture_output=True)
        for chain in new_chains:
            subprocess.run(["iptables", "-t", table, "-F", chain], capture_output=True)
        for chain in new_chains:
            subprocess.run(["iptables", "-t", table, "-X", chain], capture_output=True)
        for chain, policy in old_policies.items():
            if policies.get(chain) != policy:
                log.warning("restoring %s %s policy to %s", table, chain, policy)
                subprocess.run(["iptables", "-t", table, "-P", chain, policy], capture_output=True)
