"""Docker's JSON message streams (pull, push, build): messages from worker threads or the loop are written
as they come; an error before the first message is an HTTP error, after it an `errorDetail` message."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from engine.api import web
from engine.errors import EngineError

log = logging.getLogger(__name__)
Message = dict[str, Any]


class JSONStream:
    def __init__(self, request: web.Request) -> None:
        self.request = request
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[Message | None] = asyncio.Queue()
        self.resp: web.StreamResponse | None = None
        self.gone = threading.Event()  # the client went away: producers may stop

    def emit(self, msg: Message) -> None:
        """Thread-safe: called from the loop or from a worker thread."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            self.queue.put_nowait(msg)
        else:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, msg)

    async def _write(self, msg: Message) -> None:
        if self.resp is None:
            self.resp = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
            await self.resp.prepare(self.request)
        await self.resp.write(json.dumps(msg).encode() + b"\r\n")

    async def run(
        self,
        work: Callable[[], Awaitable[Any]],
        error_code: Callable[[EngineError], int | None] = lambda e: None,
    ) -> web.StreamResponse:
        """Drive `work` while relaying its messages; returns the (prepared) response."""
        task = asyncio.ensure_future(work())
        getter: asyncio.Future[Message | None] | None = None
        try:
            while True:
                getter = asyncio.ensure_future(self.queue.get())
                done, _ = await asyncio.wait([task, getter], return_when=asyncio.FIRST_COMPLETED)
                if getter in done:
                    msg = getter.result()
                    getter = None
                    if msg is not None:
                        await self._write(msg)
                    continue
                getter.cancel()
                getter = None
                break
            while not self.queue.empty():
                msg = self.queue.get_nowait()
                if msg is not None:
                    await self._write(msg)
            try:
                task.result()
            except EngineError as e:
                if self.resp is None:
                    raise
                detail: dict[str, Any] = {"message": e.message}
                code = error_code(e)
                if code is not None:
                    detail["code"] = code
                await self._write({"errorDetail": detail, "error": e.message})
        except (ConnectionResetError, asyncio.CancelledError):
            self.gone.set()
            task.cancel()
            raise
        finally:
            if getter is not None:
                getter.cancel()
        if self.resp is None:
            self.resp = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
            await self.resp.prepare(self.request)
        await self.resp.write_eof()
        return self.resp
