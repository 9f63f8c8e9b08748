"""A private dockerd (Debian's docker.io: dockerd 20.10 with its own containerd) for tests and bench/:
state, exec-root and socket in a temp dir, and everything it made removed afterwards, even on failure.

    with private_dockerd() as (env, tmp, daemon):    # env: for the docker CLI (DOCKER_HOST=unix://...)
        subprocess.run([DOCKER, "ps"], env=env)

It shares the machine with other test runs, so it stays off the host's shared state: --iptables=false
--ip-forward=false (no firewall rules, no FORWARD policy change), its cgroups under a private --cgroup-parent,
and a default bridge of its own: created here (`bridge_name(tmp)`, never `docker0`, which every dockerd
would share and re-address) on an address slot no other private dockerd holds (a lock file per slot), and
passed with --bridge; its networks come from the slot's own address pool. After it stops, its processes
(containerd, shims), mounts and cgroups are removed, and so is every bridge it made (its own, and the br-*
of its networks, found by name whatever addresses they hold) with the veths enslaved to them; the firewall
chains a peer added (DOCKER*, CNI-*, NETAVARK*) are removed rule by rule, never by restoring a snapshot
(that would undo other sessions' rules).
"""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from tests.support import busybox

log = logging.getLogger(__name__)

DOCKER = shutil.which("docker") or "/usr/local/bin/docker"
# address slots: slot n has the bridge 10.222.n.1/24 and the pool 10.223.(16n).0/20 (16 networks of /24);
# no route on this machine uses 10.222/10.223, and no older cleanup (which removed bridges by address,
# 10.213-10.218) matches them
SLOTS = 16
SLOT_LOCKS = "/tmp/t-dockerd-slot-{}.lock"
PEER_ADDRESS_PREFIXES = ("10.213.", "10.214.", "10.215.", "10.216.")
PEER_CHAIN_PREFIXES = ("CNI-", "DOCKER", "NETAVARK")
START_TIMEOUT = 60.0


def dockerd_installed() -> bool:
    return shutil.which("dockerd") is not None and shutil.which("containerd") is not None


def links() -> set[str]:
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    return {line.split(":", 2)[1].strip().split("@")[0] for line in out.splitlines() if ":" in line}


def peer_links(before: set[str], prefixes: tuple[str, ...] = PEER_ADDRESS_PREFIXES) -> set[str]:
    """Bridges that appeared since `before` holding an address from the peer's private ranges (other
    sessions' bridges, our engine's br-<id> too, hold other addresses and are never matched)."""
    out = subprocess.run(["ip", "-o", "-4", "addr", "show"], capture_output=True, text=True).stdout
    return {
        line.split()[1]
        for line in out.splitlines()
        if len(line.split()) > 3 and line.split()[3].startswith(prefixes)
    } - before


def remove_peer_links(before: set[str], prefixes: tuple[str, ...] = PEER_ADDRESS_PREFIXES) -> None:
    """Delete the bridges a peer left behind and the veths still enslaved to them."""
    bridges = peer_links(before, prefixes)
    for link in links() - before:
        master = Path("/sys/class/net", link, "master")
        if master.exists() and master.resolve().name in bridges:
            subprocess.run(["ip", "link", "del", link], capture_output=True)
    for bridge in bridges:
        subprocess.run(["ip", "link", "del", bridge], capture_output=True)


def pids_mentioning(text: str) -> list[int]:
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


peer_pids = pids_mentioning  # dockerd, its containerd and the shims name the private dir


def kill_all(pids: list[int]) -> None:
    for pid in pids:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def remove_cgroups(name: str) -> None:
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


def mounts_under(base: Path) -> list[str]:
    prefix = str(base.resolve())
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4].replace("\\040", " ") for line in f]
    return [p for p in points if p == prefix or p.startswith(prefix + "/")]


def unmount_under(base: Path) -> None:
    """Lazily unmount everything mounted at or below `base`, deepest first."""
    for point in sorted(mounts_under(base), key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True)


def _argv(
    tmp: str, sock: Path, cgroup_parent: str, bridge: str, pool: str, extra: tuple[str, ...] = ()
) -> list[str]:
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
        "--bridge",
        bridge,
        "--default-address-pool",
        pool,
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
    return argv + list(extra)


def bridge_name(tmp: str) -> str:
    """The default bridge of the private dockerd living in `tmp` (at most 15 characters, as Linux wants)."""
    return "tdk" + Path(tmp).name[-8:].replace("_", "0")


@contextmanager
def _address_slot() -> Iterator[tuple[str, str]]:
    """(bridge address, pool) of a slot no other private dockerd holds, locked until the dockerd is gone."""
    import fcntl

    for n in range(SLOTS):
        fd = os.open(SLOT_LOCKS.format(n), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        try:
            yield f"10.222.{n}.1/24", f"base=10.223.{16 * n}.0/20,size=24"
        finally:
            os.close(fd)  # releases the lock
        return
    raise RuntimeError(f"all {SLOTS} private dockerd address slots are taken")


def _make_bridge(name: str, address: str) -> None:
    subprocess.run(["ip", "link", "add", "name", name, "type", "bridge"], check=True, capture_output=True)
    subprocess.run(["ip", "addr", "add", address, "dev", name], check=True, capture_output=True)
    subprocess.run(["ip", "link", "set", name, "up"], check=True, capture_output=True)


def network_bridges(env: dict[str, str]) -> set[str]:
    """The Linux bridges of the dockerd's bridge networks (br-<id12>, or the name given as an option)."""
    listed = subprocess.run(
        [DOCKER, "network", "ls", "-q", "--no-trunc", "--filter", "driver=bridge"],
        env=env, capture_output=True, text=True, timeout=30,
    )
    ids = listed.stdout.split() if listed.returncode == 0 else []
    if not ids:
        return set()
    shown = subprocess.run(
        [DOCKER, "network", "inspect", "--format",
         '{{.ID}} {{index .Options "com.docker.network.bridge.name"}}', *ids],
        env=env, capture_output=True, text=True, timeout=30,
    )
    names = set()
    for line in shown.stdout.splitlines():
        nid, _, option = line.partition(" ")
        names.add(option.strip() or f"br-{nid[:12]}")
    return names


def remove_bridges(bridges: set[str]) -> None:
    """Delete these bridges and every veth enslaved to them (the host ends of containers' interfaces)."""
    for link in links():
        master = Path("/sys/class/net", link, "master")
        if link not in bridges and master.exists() and master.resolve().name in bridges:
            subprocess.run(["ip", "link", "del", link], capture_output=True)
    for bridge in bridges & links():
        subprocess.run(["ip", "link", "del", bridge], capture_output=True)


@contextmanager
def private_dockerd(
    with_busybox: bool = True,
    bip: str | None = None,
    pool: str | None = None,
    extra_args: tuple[str, ...] = (),
) -> Iterator[tuple[dict[str, str], str, subprocess.Popen[bytes]]]:
    """A dockerd on a private socket and state dirs; yields (docker CLI env, its temp dir, its process).
    with_busybox: `docker import` the busybox rootfs as busybox:latest (no CMD, as bench/ needs).
    bip/pool: its address ranges; by default those of a free slot (so any number of private dockerds,
    up to SLOTS, can run at once). extra_args: more daemon options (e.g. --userns-remap)."""
    with _address_slot() as (slot_bip, slot_pool), firewall_guard(), tempfile.TemporaryDirectory(
        prefix="t-dockerd-", dir="/tmp"
    ) as tmp:
        bip, pool = bip or slot_bip, pool or slot_pool
        cgroup_parent = f"t-dockerd-{os.getpid()}-{Path(tmp).name[-8:]}"
        sock = Path(tmp) / "docker.sock"
        env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
        env.update({"DOCKER_HOST": f"unix://{sock}", "DOCKER_CONFIG": tmp, "DOCKER_CLI_HINTS": "false"})
        Path(tmp, "daemon.json").write_text("{}\n")
        if "--userns-remap" in extra_args:
            os.chmod(tmp, 0o711)  # dockerd refuses a data root the remapped root cannot traverse
        made = {bridge_name(tmp)}
        try:
            _make_bridge(bridge_name(tmp), bip)
            with open(f"{tmp}/dockerd.log", "wb") as logf:  # the child keeps its own copy of the descriptor
                daemon = subprocess.Popen(
                    _argv(tmp, sock, cgroup_parent, bridge_name(tmp), pool, extra_args),
                    stdout=subprocess.DEVNULL,
                    stderr=logf,
                )
            try:
                deadline = time.monotonic() + START_TIMEOUT
                while subprocess.run([DOCKER, "version"], env=env, capture_output=True).returncode != 0:
                    if daemon.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(
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
                made |= _stop(env, tmp, daemon)
                unmount_under(Path(tmp))
                remove_cgroups(cgroup_parent)
        finally:
            remove_bridges(made)


def _stop(env: dict[str, str], tmp: str, daemon: subprocess.Popen[bytes]) -> set[str]:
    """Stop the dockerd and everything it started; returns the bridges its networks had."""
    bridges: set[str] = set()
    if daemon.poll() is None:
        ids = subprocess.run(
            [DOCKER, "ps", "-aq"], env=env, capture_output=True, text=True, timeout=30
        ).stdout.split()
        if ids:
            subprocess.run([DOCKER, "rm", "-f", *ids], env=env, capture_output=True, timeout=60)
        bridges = network_bridges(env)
        subprocess.run([DOCKER, "network", "prune", "-f"], env=env, capture_output=True, timeout=60)
        daemon.terminate()
    try:
        daemon.wait(30)
    except subprocess.TimeoutExpired:
        daemon.kill()
        daemon.wait()
    kill_all(pids_mentioning(tmp))  # containerd and shims outliving dockerd
    time.sleep(0.2)
    return bridges


# --- the firewall: undo what a peer added, and only that ---------------------------------------------


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
    have = shutil.which("iptables-save") is not None
    before = _iptables_rules() if have else {}
    try:
        yield
    finally:
        if have:
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
