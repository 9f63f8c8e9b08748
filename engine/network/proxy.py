"""A userland TCP proxy for ports published on IPv6 host addresses ([::1]:port): the kernel DNAT rules of
this engine are IPv4 only, and containers have no IPv6 address, so connections are accepted on the held
socket and relayed to the container's IPv4 endpoint from the daemon's event loop (as docker-proxy does)."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

CHUNK = 256 * 1024


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()  # half-close: the other direction may still be talking
    except (ConnectionError, OSError):
        writer.close()


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
        if self.loop is None:
            log.warning("proxy: no event loop; port not served container=%s", cid[:12])
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

        server = asyncio.run_coroutine_threadsafe(serve(), self.loop).result(timeout=10)
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
