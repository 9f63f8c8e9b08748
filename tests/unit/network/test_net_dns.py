"""The embedded DNS server's answers, without namespaces: our names, round robin, NXDOMAIN for unknown
single-label names, PTR, and forwarding (to a fake upstream that never answers: SERVFAIL, not a hang)."""

from __future__ import annotations

import asyncio
import struct

from engine.network import dnsmsg
from engine.network.dns import DnsServer, _Listener


def _query(name: str, qtype: int = dnsmsg.TYPE_A) -> bytes:
    return (
        struct.pack("!HHHHHH", 7, 0x0100, 1, 0, 0, 0)
        + dnsmsg.encode_name(name)
        + struct.pack("!HH", qtype, 1)
    )


def _rcode(reply: bytes | None) -> int:
    assert reply is not None
    return struct.unpack("!H", reply[2:4])[0] & 0xF


def _server() -> DnsServer:
    names = {"web": ["10.0.0.2", "10.0.0.3"]}
    return DnsServer(
        lambda cid, name: names.get(name),
        lambda cid, ip: "web.net" if ip == "10.0.0.2" else None,
        [],
    )


def test_answers() -> None:
    srv = _server()
    listener = _Listener(upstreams=[])

    async def go() -> None:
        a = await srv.answer("c", listener, _query("web"))
        assert _rcode(a) == 0 and struct.unpack("!H", a[6:8])[0] == 2  # type: ignore[index]
        aaaa = await srv.answer("c", listener, _query("web", dnsmsg.TYPE_AAAA))
        assert _rcode(aaaa) == 0 and struct.unpack("!H", aaaa[6:8])[0] == 0  # type: ignore[index]
        assert _rcode(await srv.answer("c", listener, _query("nosuch"))) == dnsmsg.RCODE_NXDOMAIN
        ptr = await srv.answer("c", listener, _query("2.0.0.10.in-addr.arpa", dnsmsg.TYPE_PTR))
        assert ptr is not None and dnsmsg.encode_name("web.net") in ptr
        # dotted names go upstream; with none configured the client hears SERVFAIL at once
        assert _rcode(await srv.answer("c", listener, _query("example.test"))) == dnsmsg.RCODE_SERVFAIL
        assert await srv.answer("c", listener, b"\x00") is None

    asyncio.run(go())
