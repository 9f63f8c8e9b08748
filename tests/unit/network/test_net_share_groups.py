"""Shared published ports without root: the port holder's share groups, the spread DNAT rule, and the open
connections of a member being drained."""

from __future__ import annotations

import socket

import pytest

from engine.errors import Conflict
from engine.network import conntrack, firewall
from engine.network.ports import PortHolder
from engine.network.traffic import in_rotation, share_group


def _bindings(port: int) -> dict[str, object]:
    return {"PortBindings": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(port)}]}}


def _free() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def test_share_group_is_the_compose_service() -> None:
    labels = {"com.docker.compose.project": "p", "com.docker.compose.service": "web"}
    assert share_group({"Labels": labels}) == "p/web"
    assert share_group({"Labels": {**labels, "com.docker.compose.oneoff": "True"}}) is None  # `run`
    assert share_group({"Labels": {"com.docker.compose.project": "p"}}) is None
    assert share_group({}) is None


def test_members_share_a_port_and_hand_it_on() -> None:
    holder, port = PortHolder(), _free()
    assert [m.host_port for m in holder.allocate("a", _bindings(port), {}, "p/web")] == [port]
    assert [m.host_port for m in holder.allocate("b", _bindings(port), {}, "p/web")] == [port]
    with pytest.raises(Conflict, match="failed"):
        holder.allocate("c", _bindings(port), {}, "p/other")  # another service: refused, as by dockerd
    with pytest.raises(Conflict):
        holder.allocate("d", _bindings(port), {}, None)  # no group: refused
    assert holder.members(("tcp", "127.0.0.1", port)) == ["a", "b"]
    holder.release("a")  # the holder goes: its socket passes to b, the port stays taken
    assert holder.members(("tcp", "127.0.0.1", port)) == ["b"]
    assert not _bindable(port)
    holder.release("b")
    assert holder.members(("tcp", "127.0.0.1", port)) == []
    assert _bindable(port)


def test_rotation_prefers_ready_members() -> None:
    ready = {"old"}.__contains__
    assert in_rotation(["old", "new"], ready) == ["old"]
    assert in_rotation(["new", "other"], ready) == ["new", "other"]  # none ready: all, as a lone container


def test_spread_rule() -> None:
    one = firewall.Forward("tcp", "127.0.0.1", 8080, "10.1.0.2", 80)
    two = firewall.Forward("tcp", "127.0.0.1", 8081, "10.1.0.2", 80, ("10.1.0.3",))
    text = firewall.render("t", [], [one, two])
    assert "ip daddr 127.0.0.1 tcp dport 8080 dnat to 10.1.0.2:80\n" in text
    # round robin by one rule per member, no map (a set lookup can miss during a load, see firewall)
    assert (
        "ip daddr 127.0.0.1 tcp dport 8081 numgen inc mod 2 == 0 dnat to 10.1.0.2:80\n"
        "    ip daddr 127.0.0.1 tcp dport 8081 dnat to 10.1.0.3:80\n"
    ) in text
    three = firewall.Forward("tcp", "", 8082, "10.1.0.2", 80, ("10.1.0.3", "10.1.0.4"))
    rules = [r.strip() for r in firewall.render("t", [], [three]).splitlines() if "dport 8082" in r]
    assert rules == [
        "tcp dport 8082 numgen inc mod 3 == 0 dnat to 10.1.0.2:80",
        "tcp dport 8082 numgen inc mod 2 == 0 dnat to 10.1.0.3:80",
        "tcp dport 8082 dnat to 10.1.0.4:80",
    ]
    assert " map " not in text
    assert "ip saddr 10.1.0.3 ip daddr 10.1.0.3 tcp dport 80 masquerade" in text


CONNTRACK = """\
ipv4     2 tcp      6 431999 ESTABLISHED src=127.0.0.1 dst=127.0.0.1 sport=41670 dport=35763 \
src=172.18.0.2 dst=172.18.0.1 sport=80 dport=41670 [ASSURED] mark=0 zone=0 use=2
ipv4     2 tcp      6 118 SYN_SENT src=127.0.0.1 dst=127.0.0.1 sport=41672 dport=35763 [UNREPLIED] \
src=172.18.0.2 dst=172.18.0.1 sport=80 dport=41672 mark=0 zone=0 use=2
ipv4     2 tcp      6 117 TIME_WAIT src=127.0.0.1 dst=127.0.0.1 sport=41674 dport=35763 \
src=172.18.0.2 dst=172.18.0.1 sport=80 dport=41674 [ASSURED] mark=0 zone=0 use=2
ipv4     2 tcp      6 9 CLOSE src=127.0.0.1 dst=127.0.0.1 sport=41676 dport=35763 \
src=172.18.0.2 dst=172.18.0.1 sport=80 dport=41676 mark=0 zone=0 use=2
ipv4     2 tcp      6 431999 ESTABLISHED src=127.0.0.1 dst=127.0.0.1 sport=41678 dport=35763 \
src=172.18.0.3 dst=172.18.0.1 sport=80 dport=41678 [ASSURED] mark=0 zone=0 use=2
ipv4     2 tcp      6 431999 ESTABLISHED src=172.18.0.2 dst=10.0.0.9 sport=80 dport=443 \
src=10.0.0.9 dst=172.18.0.2 sport=443 dport=80 [ASSURED] mark=0 zone=0 use=2
ipv4     2 udp      17 29 src=127.0.0.1 dst=127.0.0.1 sport=5353 dport=35763 \
src=172.18.0.2 dst=172.18.0.1 sport=80 dport=5353 mark=0 zone=0 use=2
ipv4     2 unknown  2 464 src=10.248.6.1 dst=224.0.0.22 [UNREPLIED] src=224.0.0.22 dst=10.248.6.1 mark=0 use=2
"""


def test_open_connections_of_a_member() -> None:
    # established and a SYN still unanswered count; finished ones, other members, the container's own
    # outgoing connections and other protocols do not
    assert conntrack.open_to(CONNTRACK, {"172.18.0.2"}, {80}) == 2
    assert conntrack.open_to(CONNTRACK, {"172.18.0.2", "172.18.0.3"}, {80}) == 3
    assert conntrack.open_to(CONNTRACK, {"172.18.0.2"}, {8080}) == 0
    assert conntrack.open_to("", {"172.18.0.2"}, {80}) == 0
