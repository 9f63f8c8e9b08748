"""The embedded DNS server at 127.0.0.11 inside each container's network namespace.

Sockets are made inside the container's namespace (a short-lived thread enters it with setns, binds, and
exits: a socket keeps the namespace it was made in) and served from the daemon's asyncio loop. Names of the
container's networks are answered from `lookup`; single-label names nobody knows get NXDOMAIN at once; other
names are forwarded, from the host's namespace, to the upstream resolvers (the container's Dns, else the
host's resolv.conf).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.kernel.syscalls import LinuxSyscalls
from engine.network import dnsmsg
from engine.network.netlink import CLONE_NEWNET

log = logging.getLogger(__name__)

DNS_IP = "127.0.0.11"
FORWARD_TIMEOUT = 2.0

# (container id, name) -> addresses, or None when the name is not ours
Lookup = Callable[[str, str], "list[str] | None"]
# (container id, ip) -> a name for PTR, or None
Reverse = Callable[[str, str], "str | None"]


def host_nameservers(resolv_conf: Path) -> list[str]:
    try:
        lines = resolv_conf.read_text().splitlines()
    except OSError:
        return []
    out = []
    for line in lines:
        words = line.split()
        if len(words) >= 2 and words[0] == "nameserver":
            out.append(words[1])
    return out


@dataclass
class _Listener:
    """The embedded DNS server's sockets in one network namespace, with its upstreams."""

    udp: Any = None
    tcp: Any = None
    upstreams: list[str] = field(default_factory=list)
    raw: tuple[socket.socket, ...] = ()  # bound sockets not yet served (open does not wait for the loop)
    closed: bool = False


Sockets = tuple[socket.socket, socket.socket]


def bind_sockets(port: int) -> Sockets:
    """The listener's UDP and TCP sockets, bound in the calling thread's network namespace."""
    udp = tcp = None
    try:
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind((DNS_IP, port))
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        tcp.bind((DNS_IP, port))
        tcp.listen(64)
        udp.setblocking(False)
        tcp.setblocking(False)
        return udp, tcp
    except BaseException:
        for made in (udp, tcp):
            if made is not None:
                made.close()
        raise


def _sockets_in_netns(ns_path: Path, port: int) -> Sockets:
    result: list[Any] = []

    def enter() -> None:
        try:
            # only this thread changes namespace; it ends right after, so the daemon's threads never do
            LinuxSyscalls().setns(str(ns_path), CLONE_NEWNET)
            result.append(bind_sockets(port))
        except BaseException as e:  # reported in the caller's thread
            result.append(e)

    t = threading.Thread(target=enter, name="dns-netns")
    t.start()
    t.join()
    if isinstance(result[0], BaseException):
        raise result[0]
    return result[0]  # type: ignore[no-any-return]


class DnsServer:
    def __init__(
        self, lookup: Lookup, reverse: Reverse, default_upstreams: list[str], port: int = 53
    ) -> None:
        self.lookup = lookup
        self.reverse = reverse
        self.default_upstreams = default_upstreams
        self.port = port
        self.loop: asyncio.AbstractEventLoop | None = None
        self._listeners: dict[str, _Listener] = {}
        self._lock = threading.Lock()

    def bind_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    # --- called from worker threads ------------------------------------------------------------------
    def open(self, cid: str, ns_path: Path, upstreams: list[str], sockets: Sockets | None = None) -> None:
        """Serve the container's namespace; `sockets` already bound there (by bind_sockets, while the
        caller was inside it anyway) save a thread that enters the namespace only to bind them."""
        if self.loop is None:
            for made in sockets or ():
                made.close()
            log.warning("dns: no event loop; container=%s gets no embedded DNS", cid[:12])
            return
        self.close(cid)
        udp, tcp = sockets or _sockets_in_netns(ns_path, self.port)
        listener = _Listener(
            upstreams=[u for u in upstreams if u != DNS_IP] or list(self.default_upstreams), raw=(udp, tcp)
        )
        with self._lock:
            self._listeners[cid] = listener
        # not waited for: the sockets are bound (TCP listening), so the kernel queues whatever the container
        # sends before the loop serves them; waiting cost a start the loop's whole backlog when it was busy
        # (a 20-service up: most of each start)
        asyncio.run_coroutine_threadsafe(self._serve(cid, listener, udp, tcp), self.loop)

    def close(self, cid: str, wait: bool = True) -> None:
        """Stop serving the container. wait=False when its namespace is going away anyway (a detach): nobody
        can rebind there, so the exit need not wait for a busy loop (a `down`) to close the sockets."""
        with self._lock:
            listener = self._listeners.pop(cid, None)
        if listener is not None:
            self._on_loop(self._close_listener, listener, wait)

    def close_all(self) -> None:
        with self._lock:
            listeners = list(self._listeners.values())
            self._listeners.clear()
        for listener in listeners:
            self._on_loop(self._close_listener, listener)

    def _on_loop(self, fn: Callable[[_Listener], None], listener: _Listener, wait: bool = True) -> None:
        """Run fn on the loop and (wait) wait for it: the port must be free when we return if the same
        namespace may bind it again."""
        loop = self.loop
        try:
            current = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        if loop is None or current is loop or loop.is_closed() or not loop.is_running():
            fn(listener)
            return
        done = threading.Event()

        def run() -> None:
            try:
                fn(listener)
            finally:
                done.set()

        loop.call_soon_threadsafe(run)
        if wait:
            done.wait(10)

    def is_open(self, cid: str) -> bool:
        with self._lock:
            return cid in self._listeners

    # --- on the loop ---------------------------------------------------------------------------------
    @staticmethod
    def _close_listener(listener: _Listener) -> None:
        listener.closed = True  # _serve, if still setting up, closes what it makes next
        if listener.udp is not None:
            listener.udp.close()
        if listener.tcp is not None:
            listener.tcp.close()
        for sock in listener.raw:
            sock.close()  # a second close of a socket a transport already closed is harmless

    async def _serve(self, cid: str, listener: _Listener, udp: socket.socket, tcp: socket.socket) -> None:
        try:
            await self._serve_sockets(cid, listener, udp, tcp)
        except (OSError, ValueError) as e:  # closed before it was served, or the socket went bad
            if not listener.closed:
                log.warning("embedded dns not started container=%s error=%s", cid[:12], e)
            self._close_listener(listener)
            return
        if listener.closed:  # closed while the servers were being made
            self._close_listener(listener)

    async def _serve_sockets(
        self, cid: str, listener: _Listener, udp: socket.socket, tcp: socket.socket
    ) -> None:
        loop = asyncio.get_running_loop()
        server = self

        class Udp(asyncio.DatagramProtocol):
            transport: Any = None

            def connection_made(self, transport: Any) -> None:
                self.transport = transport

            def datagram_received(self, data: bytes, addr: Any) -> None:
                async def answer() -> None:
                    reply = await server.answer(cid, listener, data)
                    if reply is not None and not self.transport.is_closing():
                        self.transport.sendto(reply, addr)

                loop.create_task(answer())

        transport, _ = await loop.create_datagram_endpoint(Udp, sock=udp)
        listener.udp = transport
        if listener.closed:
            return

        async def on_tcp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while True:
                    size = struct.unpack("!H", await reader.readexactly(2))[0]
                    reply = await self.answer(cid, listener, await reader.readexactly(size))
                    if reply is None:
                        break
                    writer.write(struct.pack("!H", len(reply)) + reply)
                    await writer.drain()
            except (asyncio.IncompleteReadError, ConnectionError):
                pass
            finally:
                writer.close()

        listener.tcp = await asyncio.start_server(on_tcp, sock=tcp)

    async def answer(self, cid: str, listener: _Listener, data: bytes) -> bytes | None:
        try:
            q = dnsmsg.parse_query(data)
        except dnsmsg.BadMessage:
            return None
        if q.qtype == dnsmsg.TYPE_PTR:
            ip = dnsmsg.ptr_to_ip(q.name)
            target = self.reverse(cid, ip) if ip else None
            if target:
                return dnsmsg.reply_ptr(q, target)
        else:
            ips = self.lookup(cid, q.name)
            if ips is not None:
                # our name: A or AAAA records (all replicas, rotated by the caller), nothing for other types
                wanted = (dnsmsg.TYPE_A, dnsmsg.TYPE_AAAA)
                return dnsmsg.reply_a(q, ips) if q.qtype in wanted else dnsmsg.reply_empty(q, 0)
            if "." not in q.name:
                return dnsmsg.reply_empty(q, dnsmsg.RCODE_NXDOMAIN)  # a project name nobody has: fast
        return await self.forward(listener.upstreams, data)

    async def forward(self, upstreams: list[str], data: bytes) -> bytes | None:
        loop = asyncio.get_running_loop()
        for ns in upstreams:
            family = socket.AF_INET6 if ":" in ns else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_DGRAM)
            sock.setblocking(False)
            try:
                await loop.sock_connect(sock, (ns, 53))
                await loop.sock_sendall(sock, data)
                reply = await asyncio.wait_for(loop.sock_recv(sock, 65535), FORWARD_TIMEOUT)
                if reply[:2] == data[:2]:
                    return reply
            except (TimeoutError, OSError) as e:
                log.debug("dns forward failed upstream=%s error=%s", ns, e)
            finally:
                with contextlib.suppress(OSError):
                    sock.close()
        return dnsmsg.servfail_for(data)
