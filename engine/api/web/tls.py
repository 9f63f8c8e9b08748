"""TLS for the tcp listeners, as a relay: decrypt into one end of a socketpair whose other end is served
as any local connection.

Why not asyncio's own TLS transport: it cannot half-close. Docker's hijacked attach/exec streams need it:
the client ends stdin with a TLS close_notify (Go's CloseWrite) and keeps reading the output, and asyncio
closes the whole connection on close_notify. Here a close_notify (or a plain FIN) becomes a shutdown of
the socketpair's writing side, which the server treats as a unix socket's half-close; when the server
closes its end, the client gets our close_notify and the connection ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

HANDSHAKE_TIMEOUT = 10.0  # a client that does not finish its handshake holds nothing for longer
READ_SIZE = 1 << 16


class _Session:
    def __init__(
        self, ctx: ssl.SSLContext, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.tls = ctx.wrap_bio(self.incoming, self.outgoing, server_side=True)
        self.reader = reader
        self.writer = writer

    async def flush(self) -> None:
        data = self.outgoing.read()
        if data:
            self.writer.write(data)
            await self.writer.drain()

    async def handshake(self) -> None:
        while True:
            try:
                self.tls.do_handshake()
                await self.flush()
                return
            except ssl.SSLWantReadError:
                await self.flush()
                data = await self.reader.read(READ_SIZE)
                if not data:
                    raise ConnectionResetError(
                        "client closed the connection during the TLS handshake"
                    ) from None
                self.incoming.write(data)

    async def client_to_server(self, local: asyncio.StreamWriter) -> None:
        """Decrypted client bytes into the local end; the client's close_notify or FIN half-closes it."""
        try:
            while True:
                try:
                    data = self.tls.read(READ_SIZE)
                except ssl.SSLWantReadError:
                    await self.flush()  # e.g. session tickets after the handshake
                    raw = await self.reader.read(READ_SIZE)
                    if not raw:
                        break
                    self.incoming.write(raw)
                    continue
                except ssl.SSLZeroReturnError:  # close_notify: the client is done sending, maybe not reading
                    break
                if not data:
                    break
                local.write(data)
                await local.drain()
        except (ssl.SSLError, ConnectionError, OSError) as e:  # a broken record or a reset: all over
            log.debug("tls client stream broke error=%s", e)
            local.close()
            return
        if local.can_write_eof():
            local.write_eof()

    async def server_to_client(self, local: asyncio.StreamReader) -> None:
        """The server's answer, encrypted, until the server closes its end; then our close_notify."""
        while data := await local.read(READ_SIZE):
            self.tls.write(data)
            await self.flush()
        with contextlib.suppress(ssl.SSLError):
            self.tls.unwrap()
        with contextlib.suppress(ConnectionError):
            await self.flush()


def relay(
    ctx: ssl.SSLContext, serve_local: Callable[[socket.socket], Awaitable[None]]
) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
    """An `asyncio.start_server` callback: TLS with the client, plain bytes to `serve_local(sock)`, which
    serves one end of a socketpair as a local connection."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = _Session(ctx, reader, writer)
        peer = writer.get_extra_info("peername")
        try:
            await asyncio.wait_for(session.handshake(), HANDSHAKE_TIMEOUT)
        except (ssl.SSLError, ConnectionError, OSError, TimeoutError) as e:
            log.info("tls handshake failed peer=%s error=%s", peer, e)
            with contextlib.suppress(ConnectionError, OSError):
                await session.flush()  # the alert that tells the client why
            writer.close()
            return
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            await serve_local(theirs)
            local_reader, local_writer = await asyncio.open_unix_connection(sock=ours)
        except BaseException:
            ours.close()
            theirs.close()
            writer.close()
            raise
        up = asyncio.ensure_future(session.client_to_server(local_writer))
        try:
            await session.server_to_client(local_reader)
        except (ssl.SSLError, ConnectionError, OSError) as e:
            log.debug("tls connection ended peer=%s error=%s", peer, e)
        finally:
            up.cancel()
            with contextlib.suppress(asyncio.CancelledError, ssl.SSLError, ConnectionError, OSError):
                await up
            local_writer.close()
            writer.close()

    return handle
