"""A userland proxy for ports published on IPv6 host addresses ([::1]:port, and [::] of a port published on
all addresses): the kernel DNAT rules of this engine are IPv4 only, so TCP connections are accepted on the
held socket and UDP datagrams read from it, and relayed to the container's IPv4 endpoint from the daemon's
event loop, as docker-proxy does (for UDP: one socket towards the container per client address, its replies
sent back from the published port, dropped after UDP_IDLE seconds without traffic)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

CHUNK = 256 * 1024
UDP_IDLE = 90.0  # docker-proxy's UDP connection tracking timeout
DATAGRAM = 65535


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()  # half-close: the other direction may still be talking
    except (ConnectionError, OSError):
        writer.close()


class _UdpRelay:
    """Relays datagrams between the published socket and the container, on the loop (readers, no threads).
    Every method runs on the loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, sock: socket.socket, target: tuple[str, int]) -> None:
        self.loop, self.sock, self.target = loop, sock, target
        self.flows: dict[Any, tuple[socket.socket, list[float]]] = {}  # client address -> (upstream, [last])
        self.sweeper: asyncio.TimerHandle | None = None

    def open(self) -> None:
        self.sock.setblocking(False)
        self.loop.add_reader(self.sock.fileno(), self._from_clients)
        self.sweeper = self.loop.call_later(UDP_IDLE / 3, self._sweep)

    def _from_clients(self) -> None:
        while True:
            try:
                data, client = self.sock.recvfrom(DATAGRAM)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:  # (a closed socket: never spin on it)
                log.debug("proxy: udp receive error=%s", e)
                return
            flow = self.flows.get(client) or self._open_flow(client)
            if flow is None:
                continue
            flow[1][0] = self.loop.time()
            try:
                flow[0].send(data)
            except OSError as e:  # the container is not listening (yet): dropped, as a datagram may be
                log.debug("proxy: udp container unreachable error=%s", e)

    def _open_flow(self, client: Any) -> tuple[socket.socket, list[float]] | None:
        up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            up.setblocking(False)
            up.connect(self.target)
        except OSError as e:
            log.debug("proxy: udp container unreachable error=%s", e)
            up.close()
            return None
        self.loop.add_reader(up.fileno(), self._from_container, client, up)
        flow = self.flows[client] = (up, [self.loop.time()])
        return flow

    def _from_container(self, client: Any, up: socket.socket) -> None:
        while True:
            try:
                data = up.recv(DATAGRAM)
            except (BlockingIOError, InterruptedError):
                return
            except ConnectionRefusedError:  # ICMP port unreachable: nothing listens there yet; reported once
                continue
            except OSError as e:
                log.debug("proxy: udp receive error=%s", e)
                return
            if client in self.flows:
                self.flows[client][1][0] = self.loop.time()
            try:
                self.sock.sendto(data, client)
            except OSError as e:
                log.debug("proxy: udp reply not sent error=%s", e)

    def _drop(self, client: Any) -> None:
        up, _ = self.flows.pop(client)
        self.loop.remove_reader(up.fileno())
        up.close()

    def _sweep(self) -> None:
        now = self.loop.time()
        for client in [c for c, (_, last) in self.flows.items() if now - last[0] > UDP_IDLE]:
            self._drop(client)
        self.sweeper = self.loop.call_later(UDP_IDLE / 3, self._sweep)

    def close(self) -> None:
        """Stop relaying (the published socket itself is the port holder's to close)."""
        if self.sweeper is not None:
            self.sweeper.cancel()
        with contextlib.suppress(OSError, ValueError):
            self.loop.remove_reader(self.sock.fileno())
        for client in list(self.flows):
            self._drop(client)


class Proxies:
    def __init__(self, loop: Callable[[], asyncio.AbstractEventLoop | None]) -> None:
        self._loop = loop  # the daemon's event loop (the embedded DNS server's)
        self._servers: dict[str, list[Any]] = {}
        self._conns: dict[str, set[asyncio.StreamWriter]] = {}  # open relayed connections, per container
        self._lock = threading.Lock()

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        return self._loop()

    def start(self, cid: str, sock: socket.socket, target_ip: str, target_port: int) -> None:
        """Serve `sock` (bound, not yet listening) by relaying to target; called from worker threads."""
        loop = self.loop
        if loop is None:
            log.warning("proxy: no event loop; port not served container=%s", cid[:12])
            return
        if sock.type == socket.SOCK_DGRAM:
            relay = _UdpRelay(loop, sock, (target_ip, target_port))

            async def relay_open() -> _UdpRelay:
                relay.open()
                return relay

            opened = asyncio.run_coroutine_threadsafe(relay_open(), loop).result(timeout=10)
            with self._lock:
                self._servers.setdefault(cid, []).append(opened)
            return

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            live = self._conns.setdefault(cid, set())  # only touched on the loop
            live.add(writer)
            try:
                up_reader, up_writer = await asyncio.open_connection(target_ip, target_port)
            except OSError as e:
                log.debug("proxy: container unreachable container=%s error=%s", cid[:12], e)
                writer.close()
                live.discard(writer)
                return
            live.add(up_writer)
            try:
                await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
            finally:
                up_writer.close()
                writer.close()
                live.discard(writer)
                live.discard(up_writer)

        async def serve() -> Any:
            sock.listen(128)
            sock.setblocking(False)
            return await asyncio.start_server(handle, sock=sock)

        server = asyncio.run_coroutine_threadsafe(serve(), loop).result(timeout=10)
        with self._lock:
            self._servers.setdefault(cid, []).append(server)

    def stop(self, cid: str) -> None:
        """Close cid's listeners and wait for it, so the held sockets can be released right after."""
        with self._lock:
            servers = self._servers.pop(cid, [])
        loop = self.loop
        if not servers or loop is None or loop.is_closed() or not loop.is_running():
            return
        done = threading.Event()

        def close() -> None:
            try:
                for server in servers:
                    server.close()
                for w in self._conns.pop(cid, set()):
                    w.close()  # the container is gone: so are its connections (and their hold on the port)
            finally:
                # transports close their sockets in callbacks queued by close(): let those run first
                loop.call_soon(done.set)

        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            for server in servers:
                server.close()
            for w in self._conns.pop(cid, set()):
                w.close()
            return
        loop.call_soon_threadsafe(close)
        done.wait(10)

    def stop_all(self) -> None:
        with self._lock:
            cids = list(self._servers)
        for cid in cids:
            self.stop(cid)
