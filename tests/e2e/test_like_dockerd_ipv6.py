"""IPv6 networks (EnableIPv6) against our engine and a private dockerd 20.10 (`either`, tests/e2e/both.py):
addresses on both families, containers talking over IPv6 on the bridge this test makes, the embedded DNS
answering AAAA. dockerd 20.10 needs the subnet given; ours also picks a ULA /64 when none is."""

from __future__ import annotations

import ipaddress
import json
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import pytest

from tests.e2e.both import Engine
from tests.support import dockerd
from tests.support.engine import running_engine

pytestmark = [pytest.mark.root, pytest.mark.e2e]


def _subnet() -> str:
    """A ULA /64 of this test's own (other sessions may hold another at the same time)."""
    return str(ipaddress.IPv6Network(((0xFD << 120) | (secrets.randbits(56) << 64), 64)))


def test_containers_talk_over_ipv6_on_an_ipv6_network(either: Engine) -> None:
    subnet = _subnet()
    either.cli("network", "create", "--ipv6", "--subnet", subnet, "t-v6")
    net = json.loads(either.cli("network", "inspect", "t-v6").out)[0]
    assert net["EnableIPv6"] is True
    assert subnet in [c["Subnet"] for c in net["IPAM"]["Config"]]
    either.cli("run", "-d", "--name", "t-v6a", "--network", "t-v6", "busybox", "sh", "-c",
               "echo hello-over-v6 | nc -l -p 8080")
    shown = json.loads(either.cli("inspect", "t-v6a").out)[0]["NetworkSettings"]["Networks"]["t-v6"]
    address = ipaddress.IPv6Address(shown["GlobalIPv6Address"])
    assert address in ipaddress.IPv6Network(subnet) and shown["GlobalIPv6PrefixLen"] == 64
    assert ipaddress.IPv6Address(shown["IPv6Gateway"]) == ipaddress.IPv6Network(subnet).network_address + 1
    assert ipaddress.IPv4Address(shown["IPAddress"])  # and an IPv4 address too
    entry = next(iter(json.loads(either.cli("network", "inspect", "t-v6").out)[0]["Containers"].values()))
    assert entry["IPv6Address"] == f"{address}/64"
    out = either.cli("run", "--rm", "--network", "t-v6", "busybox", "sh", "-c",
                     f"ip -6 addr show eth0; ip -6 route; nslookup -type=AAAA t-v6a; "
                     f"ping -6 -c 1 -W 3 t-v6a; nc -w 3 {address} 8080").out
    assert f"inet6 {ipaddress.IPv6Network(subnet).network_address + 3}/64 scope global" in out
    assert f"default via {ipaddress.IPv6Network(subnet).network_address + 1}" in out
    assert f"Address: {address}" in out  # the embedded DNS's AAAA answer
    assert "1 packets received" in out
    assert out.rstrip().endswith("hello-over-v6")
    if not either.is_dockerd:  # the private dockerd runs with --ip6tables=false: ours only
        assert f"ip6 saddr {subnet} oifname != " in _ip6_rules()
        either.cli("rm", "-f", "t-v6a")
        either.cli("network", "rm", "t-v6")
        assert subnet not in _ip6_rules()


def _ip6_rules() -> str:
    """Every ip6 table's rules (ours is the one that names this test's subnet)."""
    return subprocess.run(["nft", "list", "ruleset", "ip6"], capture_output=True, text=True).stdout


def test_an_ipv6_network_without_a_subnet(either: Engine) -> None:
    res = either.cli("network", "create", "--ipv6", "t-v6auto", check=False)
    if either.is_dockerd:  # dockerd 20.10 has no default IPv6 pool (newer ones take ULAs, as ours)
        assert res.rc != 0
        return
    net = json.loads(either.cli("network", "inspect", "t-v6auto").out)[0]
    v6 = [ipaddress.ip_network(c["Subnet"]) for c in net["IPAM"]["Config"] if ":" in c["Subnet"]]
    assert len(v6) == 1 and v6[0].prefixlen == 64 and v6[0].subnet_of(ipaddress.IPv6Network("fd00::/8"))


def test_a_port_published_on_all_addresses_is_published_on_ipv6_too(either: Engine) -> None:
    either.cli("run", "-d", "--name", "t-v6p", "-p", "80", "busybox", "sh", "-c",
               "mkdir /w; echo page > /w/index.html; httpd -f -p 80 -h /w")
    lines = sorted(either.cli("port", "t-v6p", "80").out.split())
    published = {line.rpartition(":")[0]: line.rpartition(":")[2] for line in lines}
    assert sorted(published) == ["0.0.0.0", "[::]"]
    port, port6 = published["0.0.0.0"], published["[::]"]
    # ours takes the same port on both families; dockerd 20.10 picks each address's ephemeral port apart
    # (the same number only while its two allocators have seen the same ports)
    assert either.is_dockerd or port6 == port
    for url in (f"http://127.0.0.1:{port}/", f"http://[::1]:{port6}/"):
        assert _page(url) == b"page\n", url


def _page(url: str, timeout: float = 60.0) -> bytes:
    """The body at `url`, retried while the container's server is not listening yet (a loaded machine)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=10) as page:
                return bytes(page.read())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_a_chosen_ipv6_address(either: Engine) -> None:
    subnet = ipaddress.IPv6Network(_subnet())
    either.cli("network", "create", "--ipv6", "--subnet", str(subnet), "t-v6ip")
    chosen = str(subnet.network_address + 0x42)
    out = either.cli("run", "--rm", "--network", "t-v6ip", "--ip6", chosen, "busybox",
                     "ip", "-6", "addr", "show", "eth0").out
    assert f"inet6 {chosen}/64 scope global" in out
    outside = either.cli("run", "--rm", "--network", "t-v6ip", "--ip6", "fd99::5", "busybox", "true",
                         check=False)
    assert outside.rc != 0
    assert "Invalid address fd99::5: It does not belong to any of this network's subnets" in outside.err


UDP_ECHO = """
import select, socket, sys
socks = []
for port in map(int, sys.argv[1:]):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", port))
    socks.append(s)
print("ready", flush=True)
while True:
    for s in select.select(socks, [], [])[0]:
        data, peer = s.recvfrom(2048)
        s.sendto(b"echo:" + data, peer)
"""


def _udp_ask(address: str, port: int, text: bytes) -> bytes:
    """One datagram to address:port and its answer (sent again while none comes: UDP may drop one)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.settimeout(1)
        deadline = time.monotonic() + 30
        while True:
            s.sendto(text, (address, port))
            try:
                return s.recv(2048)
            except TimeoutError:
                if time.monotonic() > deadline:
                    raise


def test_udp_ports_published_on_ipv6_are_relayed(either: Engine) -> None:
    """`-p 5353/udp` is published on 0.0.0.0 and [::] as dockerd does, `-p [::1]::5354/udp` on [::1]; the
    datagrams sent to the IPv6 addresses reach the container (through the userland proxy) and its answers
    come back, to each client of its own."""
    either.cli("run", "-d", "--name", "t-v6u", "-p", "5353/udp", "-p", "[::1]::5354/udp", "busybox",
               "sleep", "300")
    lines = sorted(either.cli("port", "t-v6u").out.splitlines())
    # ours takes the same port on both families; dockerd 20.10 picks each address's ephemeral port apart
    published = {line.rpartition(":")[0]: int(line.rpartition(":")[2]) for line in lines}
    assert sorted(published) == ["5353/udp -> 0.0.0.0", "5353/udp -> [::]", "5354/udp -> [::1]"]
    port, port_all6, port6 = published.values()
    assert either.is_dockerd or port_all6 == port
    pid = json.loads(either.cli("inspect", "t-v6u").out)[0]["State"]["Pid"]
    server = subprocess.Popen(["nsenter", f"--net=/proc/{pid}/ns/net", sys.executable, "-c", UDP_ECHO,
                               "5353", "5354"], stdout=subprocess.PIPE)
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == b"ready"
        assert _udp_ask("127.0.0.1", port, b"v4") == b"echo:v4"
        for n in range(2):  # each a client of its own: the answer goes back to the one that asked
            assert _udp_ask("::1", port_all6, b"all%d" % n) == b"echo:all%d" % n
            assert _udp_ask("::1", port6, b"loop%d" % n) == b"echo:loop%d" % n
    finally:
        server.kill()
        server.wait()
        if server.stdout is not None:
            server.stdout.close()


def _default_bridge_story(env: dict[str, str], subnet: str) -> list[object]:
    """What a client sees of IPv6 on the default bridge of an engine started with --ipv6 --fixed-cidr-v6."""
    def docker(*args: str) -> str:
        res = subprocess.run([dockerd.DOCKER, *args], env=env, capture_output=True, text=True, timeout=300)
        assert res.returncode == 0, (args, res.stderr)
        return res.stdout

    net = ipaddress.IPv6Network(subnet)
    seen: list[object] = []
    shown = json.loads(docker("network", "inspect", "bridge"))[0]
    seen.append(("network", shown["EnableIPv6"], [c for c in shown["IPAM"]["Config"] if ":" in c["Subnet"]]))
    docker("run", "-d", "--name", "t-v6srv", "busybox", "sh", "-c", "echo hello-over-v6 | nc -l -p 8080")
    try:
        settings = json.loads(docker("inspect", "t-v6srv"))[0]["NetworkSettings"]
        address = ipaddress.IPv6Address(settings["GlobalIPv6Address"])
        seen.append(("container", address in net, settings["GlobalIPv6PrefixLen"], settings["IPv6Gateway"]))
        out = docker("run", "--rm", "busybox", "sh", "-c",
                     "ip -6 route | grep default;"
                     " mine=$(ip -6 addr show eth0 scope global | awk '/inet6/ {print $2}' | cut -d/ -f1);"
                     f" grep -c \"^$mine\\s\" /etc/hosts;"
                     # until the server listens (its nc may start after this container, under load)
                     f" for i in $(seq 60); do nc -w 2 {address} 8080 && break; sleep 0.5; done")
        seen.append(("client", out.split()[:3], out.split()[-2:]))
    finally:
        subprocess.run([dockerd.DOCKER, "rm", "-f", "t-v6srv"], env=env, capture_output=True, timeout=60)
    return seen


def test_ipv6_on_the_default_bridge_as_dockerd() -> None:
    """dockerd's `--ipv6 --fixed-cidr-v6 SUBNET`: the default bridge network has that IPv6 subnet, its
    containers an address in it (gateway its first address) and talk over IPv6; the same client calls
    against our engine and a private dockerd 20.10 started with the options. `--ipv6` without a subnet
    refuses to start, with dockerd's words."""
    mine, theirs = _subnet(), _subnet()
    with dockerd.private_dockerd(extra_args=("--ipv6", "--fixed-cidr-v6", theirs)) as (env, _tmp, _d):
        expected = _default_bridge_story(env, theirs)
    with running_engine(extra_args=("--ipv6", "--fixed-cidr-v6", mine)) as eng:
        ours = _default_bridge_story({**env, "DOCKER_HOST": eng.docker_host}, mine)
        assert f"ip6 saddr {mine} oifname != " in _ip6_rules()  # its masquerade, as a user network's
    gateway = str(ipaddress.IPv6Network(theirs).network_address + 1)
    assert expected == [
        ("network", True, [{"Subnet": theirs}]),
        ("container", True, 64, gateway),
        ("client", ["default", "via", gateway], ["1", "hello-over-v6"]),
    ]
    gateway = str(ipaddress.IPv6Network(mine).network_address + 1)
    assert ours == [
        ("network", True, [{"Subnet": mine}]),
        ("container", True, 64, gateway),
        ("client", ["default", "via", gateway], ["1", "hello-over-v6"]),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        refused = subprocess.run(
            [sys.executable, "-m", "engine.daemon", "--ipv6", "-H", f"unix://{tmp}/e.sock", "--data-root",
             f"{tmp}/data", "--exec-root", f"{tmp}/exec"], capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0
    assert ("IPv6 is enabled for the default bridge, but no subnet is configured. Specify an IPv6 subnet "
            "using --fixed-cidr-v6") in refused.stderr
