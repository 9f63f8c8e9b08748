"""Pure parts of engine networking: IPAM, DNS messages, nft rendering, port bindings, etc files, views."""

from __future__ import annotations

import ipaddress
import struct

import pytest

from engine.errors import Conflict, InvalidParameter
from engine.network import dnsmsg, etc, firewall, ipam, views
from engine.network.model import Network, PortMapping
from engine.network.ports import _host_ip, _host_range, parse_port_key


def test_choose_subnet_skips_host_routes_and_ours() -> None:
    used = [
        ipaddress.IPv4Network("0.0.0.0/0"),
        ipaddress.IPv4Network("192.0.2.0/24"),
        ipaddress.IPv4Network("172.17.0.0/16"),
        ipaddress.IPv4Network("172.18.5.0/24"),
    ]
    assert str(ipam.choose_subnet(used)) == "172.19.0.0/16"
    everything = [ipaddress.IPv4Network("172.16.0.0/12"), ipaddress.IPv4Network("192.168.0.0/17")]
    assert str(ipam.choose_subnet(everything)) == "192.168.128.0/20"
    with pytest.raises(Conflict):
        ipam.choose_subnet([ipaddress.IPv4Network("172.16.0.0/12"), ipaddress.IPv4Network("192.168.0.0/16")])


def test_allocate_and_requested() -> None:
    net = ipaddress.IPv4Network("10.5.0.0/29")
    assert ipam.allocate(net, None, set(), "10.5.0.1") == "10.5.0.2"
    assert ipam.allocate(net, None, {"10.5.0.2", "10.5.0.3"}, "10.5.0.1") == "10.5.0.4"
    rng = ipaddress.IPv4Network("10.5.0.4/30")
    assert ipam.allocate(net, rng, set(), "10.5.0.1") == "10.5.0.5"
    with pytest.raises(Conflict):
        ipam.allocate(net, None, {f"10.5.0.{i}" for i in range(2, 7)}, "10.5.0.1")
    assert ipam.check_requested(net, "10.5.0.6", set(), "10.5.0.1") == "10.5.0.6"
    with pytest.raises(InvalidParameter):
        ipam.check_requested(net, "10.6.0.1", set(), "10.5.0.1")
    with pytest.raises(Conflict):
        ipam.check_requested(net, "10.5.0.1", set(), "10.5.0.1")
    with pytest.raises(InvalidParameter):
        ipam.parse_net("fd00::/64")


def _query(name: str, qtype: int = 1) -> bytes:
    return (
        struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)
        + dnsmsg.encode_name(name)
        + struct.pack("!HH", qtype, 1)
    )


def test_dns_messages() -> None:
    q = dnsmsg.parse_query(_query("Web.Example"))
    assert (q.id, q.name, q.qtype) == (0x1234, "web.example", 1)
    reply = dnsmsg.reply_a(q, ["10.0.0.2", "10.0.0.3"])
    qid, flags, qd, an = struct.unpack("!HHHH", reply[:8])
    assert (qid, flags & 0x8000, flags & 0xF, qd, an) == (0x1234, 0x8000, 0, 1, 2)
    assert reply.endswith(bytes([10, 0, 0, 3]))
    nx = dnsmsg.reply_empty(q, dnsmsg.RCODE_NXDOMAIN)
    assert struct.unpack("!H", nx[2:4])[0] & 0xF == 3
    assert dnsmsg.ptr_to_ip("2.0.0.10.in-addr.arpa") == "10.0.0.2"
    assert dnsmsg.ptr_to_ip("foo.example") is None
    with pytest.raises(dnsmsg.BadMessage):
        dnsmsg.parse_query(b"\x00\x01")


def test_firewall_render() -> None:
    text = firewall.render(
        "t",
        [
            firewall.BridgeRules("br-a", "10.1.0.0/24", False),
            firewall.BridgeRules("br-i", "10.2.0.0/24", True),
        ],
        [firewall.Forward("tcp", "127.0.0.1", 8080, "10.1.0.2", 80)],
    )
    assert "ip daddr 127.0.0.1 tcp dport 8080 dnat to 10.1.0.2:80" in text
    assert 'ip saddr 10.1.0.0/24 oifname != "br-a" masquerade' in text
    assert "ip saddr 10.2.0.0/24" not in text  # internal: no way out
    assert text.index('iifname "br-i" oifname != "br-i" drop') < text.index("ct status dnat accept")
    assert 'iifname "br-a" oifname "br-i" drop' in text
    # an accepted connection's packets skip the rules between networks, not the internal network's drops
    forward = text[text.index("chain forward") :]
    established = forward.index("ct state established,related accept")
    assert forward.index('oifname "br-i" iifname != "br-i" drop') < established
    assert established < forward.index('iifname "br-a" oifname "br-i" drop')


def test_port_parsing() -> None:
    assert parse_port_key("80/tcp") == (80, "tcp")
    assert parse_port_key("53/udp") == (53, "udp")
    assert parse_port_key("8080") == (8080, "tcp")
    for bad in ("80/sctp", "x/tcp", "0/tcp", "70000"):
        with pytest.raises(InvalidParameter):
            parse_port_key(bad)
    assert _host_range("") == (0, 0)
    assert _host_range("8000-8010") == (8000, 8010)
    with pytest.raises(InvalidParameter):
        _host_range("9-1")
    assert _host_ip("0.0.0.0") == "" and _host_ip("127.0.0.1") == "127.0.0.1" and _host_ip("::") == "::"
    with pytest.raises(InvalidParameter):
        _host_ip("not-an-ip")


def test_etc_files() -> None:
    hosts = etc.hosts(
        "web", "10.1.0.2", "10.1.0.1", ["db:10.9.9.9", "gw:host-gateway"], [("10.1.0.3", "al", "t")]
    )
    assert "10.9.9.9\tdb\n" in hosts and "10.1.0.1\tgw\n" in hosts and "10.1.0.3\tal t\n" in hosts
    assert hosts.endswith("10.1.0.2\tweb\n")
    assert "gw" not in etc.hosts("web", "10.1.0.2", "", ["gw:host-gateway"], [])  # internal: no host
    resolv = etc.resolv("nameserver 1.2.3.4\nsearch a.b\noptions ndots:2\n", {"DnsSearch": ["x.y"]}, True)
    assert resolv == "nameserver 127.0.0.11\noptions ndots:2\nsearch x.y\n"
    assert etc.resolv("nameserver 1.2.3.4\n", {}, False) == "nameserver 1.2.3.4\n"


def test_views() -> None:
    ports = views.ports_json([PortMapping(80, "tcp", "127.0.0.1", 32768)], {"80/tcp": {}, "53/udp": {}})
    assert ports == {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "32768"}], "53/udp": None}
    ps = views.ps_ports([PortMapping(80, "tcp", "", 8080)], {"80/tcp": {}, "443/tcp": {}})
    assert {"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"} in ps
    assert {"PrivatePort": 443, "Type": "tcp"} in ps
    n = Network(id="a" * 64, name="n", driver="bridge", created="2026-01-01T00:00:00Z", bridge="br-x")
    j = views.network_json(n, {})
    assert j["Scope"] == "local" and j["IPAM"]["Driver"] == "default" and j["Containers"] == {}


def test_firewall_render6_only_with_ipv6_networks() -> None:
    v4 = firewall.BridgeRules("br-a", "10.1.0.0/24", False)
    assert firewall.render6("t", [v4]) == ""
    v6 = firewall.BridgeRules("br-b", "10.2.0.0/24", False, "fd00:1:2:3::/64")
    internal = firewall.BridgeRules("br-c", "10.3.0.0/24", True, "fd00:1:2:4::/64")
    text = firewall.render6("t", [v4, v6, internal])
    assert text.startswith("table ip6 t {")
    assert 'ip6 saddr fd00:1:2:3::/64 oifname != "br-b" masquerade' in text
    assert "fd00:1:2:4::/64" not in text  # internal: no way out
    assert 'iifname "br-c" oifname != "br-c" drop' in text
    assert 'iifname "br-b" oifname "br-a" drop' in text and 'iifname "br-b" oifname "br-c" drop' in text
    assert "oifname {" not in text  # no anonymous set to miss
