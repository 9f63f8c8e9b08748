"""A small rtnetlink (NETLINK_ROUTE) client: the few link, address and route messages the engine sends,
packed with struct over a plain socket.

A netlink socket speaks for the network namespace of the thread that opened it, so callers open one where
they stand (`with Rtnl() as nl:`), after any setns. Requests are synchronous: one message, then its
acknowledgement (or dump) read back; a kernel error becomes `RtnlError` with the errno and, when the kernel
gives one (extended ack), its own explanation.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import os
import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass

# message types and flags (linux/netlink.h, linux/rtnetlink.h)
NLMSG_ERROR, NLMSG_DONE = 2, 3
RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK = 16, 17, 18
RTM_NEWADDR, RTM_GETADDR = 20, 22
RTM_NEWROUTE, RTM_GETROUTE = 24, 26
F_REQUEST, F_MULTI, F_ACK = 0x1, 0x2, 0x4
F_DUMP = 0x300
F_REPLACE, F_EXCL, F_CREATE = 0x100, 0x200, 0x400
F_CAPPED, F_ACK_TLVS = 0x100, 0x200  # in NLMSG_ERROR replies
SOL_NETLINK, NETLINK_EXT_ACK = 270, 11
NLMSGERR_ATTR_MSG = 1

# attributes
IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU, IFLA_MASTER, IFLA_LINKINFO, IFLA_NET_NS_FD = 1, 3, 4, 10, 18, 28
IFLA_INFO_KIND, IFLA_INFO_DATA = 1, 2
VETH_INFO_PEER = 1
IFA_ADDRESS, IFA_LOCAL, IFA_BROADCAST = 1, 2, 4
IFA_F_NODAD = 0x02
RTA_DST, RTA_OIF, RTA_GATEWAY, RTA_PRIORITY, RTA_PREFSRC, RTA_METRICS, RTA_TABLE = 1, 4, 5, 6, 7, 8, 15
IP6_PREFIX_ROUTE_METRIC = 256  # the kernel's metric for an IPv6 address's subnet route
RTAX_QUICKACK = 15  # a route metric (inside RTA_METRICS)
IFF_UP = 0x1
RT_TABLE_MAIN, RTPROT_KERNEL, RTPROT_BOOT, RTN_UNICAST = 254, 2, 3, 1
RT_SCOPE_UNIVERSE, RT_SCOPE_LINK = 0, 253

_HDR = struct.Struct("=IHHII")  # nlmsghdr: len, type, flags, seq, pid
_IFINFO = struct.Struct("=BxHiII")  # ifinfomsg: family, type, index, flags, change
_IFADDR = struct.Struct("=BBBBi")  # ifaddrmsg: family, prefixlen, flags, scope, index
_RTMSG = struct.Struct("=BBBBBBBBI")  # rtmsg: family dst_len src_len tos table proto scope type flags
_RTA = struct.Struct("=HH")  # rtattr: len, type


class RtnlError(OSError):
    """The kernel refused a request: errno, strerror, and the kernel's extended-ack text when it sent one."""

    def __init__(self, code: int, detail: str = "") -> None:
        text = os.strerror(code) + (f" ({detail})" if detail else "")
        super().__init__(code, text)


def _align(n: int) -> int:
    return (n + 3) & ~3


def attr(kind: int, data: bytes) -> bytes:
    raw = _RTA.pack(_RTA.size + len(data), kind) + data
    return raw + b"\0" * (_align(len(raw)) - len(raw))


def attr_str(kind: int, text: str) -> bytes:
    return attr(kind, text.encode() + b"\0")


def attr_u32(kind: int, value: int) -> bytes:
    return attr(kind, struct.pack("=I", value))


def attrs(data: bytes) -> dict[int, bytes]:
    """Top-level attributes of a message body (the first occurrence of each type)."""
    out: dict[int, bytes] = {}
    off = 0
    while off + _RTA.size <= len(data):
        length, kind = _RTA.unpack_from(data, off)
        if length < _RTA.size:
            break
        out.setdefault(kind & 0x3FFF, data[off + _RTA.size : off + length])  # without NESTED/BYTEORDER bits
        off += _align(length)
    return out


def _cstr(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode(errors="replace")


def _mac(text: str) -> bytes:
    return bytes(int(x, 16) for x in text.split(":"))


@dataclass(frozen=True)
class Link:
    """A network interface: index and name (from rtnetlink)."""

    index: int
    name: str


@dataclass(frozen=True)
class Addr:
    """An interface address: index, address and prefix length (from rtnetlink)."""

    index: int
    address: str
    prefixlen: int


def _link_msg(index: int = 0, up: bool = False) -> bytes:
    return _IFINFO.pack(socket.AF_UNSPEC, 0, index, IFF_UP if up else 0, IFF_UP if up else 0)


class Rtnl:
    """One NETLINK_ROUTE socket, in the network namespace of the thread that made it."""

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, 0)
        with contextlib.suppress(OSError):  # an older kernel: errors come without the kernel's explanation
            self._sock.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
        self._sock.bind((0, 0))
        self._seq = 0

    def __enter__(self) -> Rtnl:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._sock.close()

    # ---- transport ----------------------------------------------------------------------------------
    def _send(self, kind: int, flags: int, body: bytes) -> int:
        self._seq += 1
        self._sock.send(_HDR.pack(_HDR.size + len(body), kind, F_REQUEST | flags, self._seq, 0) + body)
        return self._seq

    def _replies(self, seq: int) -> Iterator[tuple[int, int, bytes]]:
        """(type, flags, payload) of the messages answering `seq`; raises RtnlError on an error reply."""
        while True:
            data = self._sock.recv(1 << 17)
            off = 0
            while off + _HDR.size <= len(data):
                length, kind, flags, rseq, _ = _HDR.unpack_from(data, off)
                if length < _HDR.size:
                    return
                payload = data[off + _HDR.size : off + length]
                off += _align(length)
                if rseq != seq:
                    continue  # a late answer to an earlier request
                if kind == NLMSG_ERROR:
                    code = -struct.unpack_from("=i", payload)[0]
                    if code:
                        raise RtnlError(code, _ext_ack(payload, flags))
                    yield kind, flags, b""
                    return
                yield kind, flags, payload
                if kind == NLMSG_DONE:
                    return

    def request(self, kind: int, body: bytes, flags: int = 0) -> None:
        """Send one change and wait for its acknowledgement."""
        for _ in self._replies(self._send(kind, flags | F_ACK, body)):
            pass

    def dump(self, kind: int, body: bytes) -> list[bytes]:
        return [p for k, _, p in self._replies(self._send(kind, F_DUMP, body)) if k != NLMSG_DONE and p]

    # ---- links -------------------------------------------------------------------------------------
    def link_index(self, name: str) -> int | None:
        """The index of link `name` in this namespace, or None."""
        try:
            for kind, _, payload in self._replies(
                self._send(RTM_GETLINK, 0, _link_msg() + attr_str(IFLA_IFNAME, name))
            ):
                if kind == RTM_NEWLINK:
                    return int(_IFINFO.unpack_from(payload)[2])
        except RtnlError as e:
            if e.errno in (errno.ENODEV, errno.ENOENT):
                return None
            raise
        return None

    def links(self) -> list[Link]:
        out = []
        for payload in self.dump(RTM_GETLINK, _link_msg()):
            index = _IFINFO.unpack_from(payload)[2]
            name = attrs(payload[_IFINFO.size :]).get(IFLA_IFNAME)
            if name is not None:
                out.append(Link(index, _cstr(name)))
        return out

    def add_bridge(self, name: str) -> None:
        info = attr(IFLA_LINKINFO, attr_str(IFLA_INFO_KIND, "bridge"))
        self.request(RTM_NEWLINK, _link_msg() + attr_str(IFLA_IFNAME, name) + info, F_CREATE | F_EXCL)

    def add_veth(
        self, name: str, *, master: int, mtu: int, peer: str, peer_ns_fd: int, peer_mac: str = ""
    ) -> None:
        """Host side `name` enslaved to `master` and up; its peer born in the namespace of `peer_ns_fd`
        under its final name (and MAC), in one request."""
        sized = attr_u32(IFLA_MTU, mtu) if mtu else b""
        peer_body = _link_msg() + attr_str(IFLA_IFNAME, peer) + sized + attr_u32(IFLA_NET_NS_FD, peer_ns_fd)
        if peer_mac:
            peer_body += attr(IFLA_ADDRESS, _mac(peer_mac))
        info = attr_str(IFLA_INFO_KIND, "veth") + attr(IFLA_INFO_DATA, attr(VETH_INFO_PEER, peer_body))
        body = (
            _link_msg(up=True)
            + attr_str(IFLA_IFNAME, name)
            + attr_u32(IFLA_MASTER, master)
            + sized
            + attr(IFLA_LINKINFO, info)
        )
        self.request(RTM_NEWLINK, body, F_CREATE | F_EXCL)

    def set_link(self, index: int, *, up: bool = False, mtu: int = 0) -> None:
        self.request(RTM_NEWLINK, _link_msg(index, up) + (attr_u32(IFLA_MTU, mtu) if mtu else b""))

    def del_link(self, index: int) -> None:
        self.request(RTM_DELLINK, _link_msg(index))

    # ---- addresses and routes ----------------------------------------------------------------------
    def add_addr(self, index: int, address: str, prefixlen: int) -> None:
        if ":" in address:  # IPv6: usable at once (no duplicate address detection on our own bridge)
            ip6 = ipaddress.IPv6Address(address)
            body = _IFADDR.pack(socket.AF_INET6, prefixlen, IFA_F_NODAD, RT_SCOPE_UNIVERSE, index)
            body += attr(IFA_LOCAL, ip6.packed) + attr(IFA_ADDRESS, ip6.packed)
            self.request(RTM_NEWADDR, body, F_CREATE | F_EXCL)
            return
        ip = ipaddress.IPv4Address(address)
        body = _IFADDR.pack(socket.AF_INET, prefixlen, 0, RT_SCOPE_UNIVERSE, index)
        body += attr(IFA_LOCAL, ip.packed) + attr(IFA_ADDRESS, ip.packed)
        if prefixlen < 31:  # as `ip addr add ... brd +`
            net = ipaddress.IPv4Network(f"{address}/{prefixlen}", strict=False)
            body += attr(IFA_BROADCAST, net.broadcast_address.packed)
        self.request(RTM_NEWADDR, body, F_CREATE | F_EXCL)

    def replace_subnet_route(self, address: str, prefixlen: int, oif: int, quickack: bool = False) -> None:
        """Replace the route the kernel made for `address`'s subnet with the same route (proto kernel, scope
        link; IPv4: source `address`, IPv6: metric 256) plus the quickack metric when asked. The kernel still
        owns it: it goes with the address, and a link taken down and up gets the kernel's plain one back."""
        net = ipaddress.ip_network(f"{address}/{prefixlen}", strict=False)
        family = socket.AF_INET6 if net.version == 6 else socket.AF_INET
        scope = RT_SCOPE_UNIVERSE if net.version == 6 else RT_SCOPE_LINK
        head = (family, prefixlen, 0, 0, RT_TABLE_MAIN, RTPROT_KERNEL, scope, RTN_UNICAST, 0)
        body = _RTMSG.pack(*head) + attr(RTA_DST, net.network_address.packed) + attr_u32(RTA_OIF, oif)
        if net.version == 6:
            body += attr_u32(RTA_PRIORITY, IP6_PREFIX_ROUTE_METRIC)
        else:
            body += attr(RTA_PREFSRC, ipaddress.IPv4Address(address).packed)
        body += _metrics(quickack)
        self.request(RTM_NEWROUTE, body, F_CREATE | F_REPLACE)

    def addrs(self, index: int | None = None, family: int = socket.AF_INET) -> list[Addr]:
        out = []
        for payload in self.dump(RTM_GETADDR, _IFADDR.pack(family, 0, 0, 0, 0)):
            got, prefixlen, _, _, idx = _IFADDR.unpack_from(payload)
            a = attrs(payload[_IFADDR.size :])
            raw = a.get(IFA_ADDRESS) or a.get(IFA_LOCAL)
            if got == family and raw and (index is None or idx == index):
                out.append(Addr(idx, str(ipaddress.ip_address(raw)), prefixlen))
        return out

    def add_default_route(self, gateway: str, oif: int, quickack: bool = False) -> None:
        gw = ipaddress.ip_address(gateway)
        family = socket.AF_INET6 if gw.version == 6 else socket.AF_INET
        head = (family, 0, 0, 0, RT_TABLE_MAIN, RTPROT_BOOT, RT_SCOPE_UNIVERSE, RTN_UNICAST, 0)
        body = _RTMSG.pack(*head)
        body += attr(RTA_GATEWAY, gw.packed) + attr_u32(RTA_OIF, oif) + _metrics(quickack)
        self.request(RTM_NEWROUTE, body, F_CREATE | F_EXCL)

    def route_destinations(self) -> list[ipaddress.IPv4Network]:
        """Destinations of the main table's IPv4 routes (the default route excluded)."""
        out = []
        for payload in self.dump(RTM_GETROUTE, _RTMSG.pack(socket.AF_INET, 0, 0, 0, 0, 0, 0, 0, 0)):
            family, dst_len, _, _, table, *_ = _RTMSG.unpack_from(payload)
            a = attrs(payload[_RTMSG.size :])
            if RTA_TABLE in a:
                table = struct.unpack("=I", a[RTA_TABLE])[0]
            if family == socket.AF_INET and table == RT_TABLE_MAIN and RTA_DST in a:
                dst = ipaddress.IPv4Address(a[RTA_DST])
                out.append(ipaddress.IPv4Network(f"{dst}/{dst_len}", strict=False))
        return out


def _metrics(quickack: bool) -> bytes:
    """A route's RTA_METRICS: TCP over it acknowledges every segment at once (no delayed ACK)."""
    return attr(RTA_METRICS, attr_u32(RTAX_QUICKACK, 1)) if quickack else b""


def _ext_ack(payload: bytes, flags: int) -> str:
    """The kernel's NLMSGERR_ATTR_MSG of an error reply, after the echoed request (or its header only)."""
    if not flags & F_ACK_TLVS:
        return ""
    echoed = _HDR.size if flags & F_CAPPED else _HDR.unpack_from(payload, 4)[0]
    msg = attrs(payload[4 + _align(echoed) :]).get(NLMSGERR_ATTR_MSG)
    return _cstr(msg) if msg else ""
