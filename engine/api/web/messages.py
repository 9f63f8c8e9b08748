"""Request and response types the route modules use (the names follow aiohttp's, which they were written for).

A handler gets a `Request` and returns a `Response` (whole body, Content-Length) or a `StreamResponse` it
prepared and wrote itself (chunked). The connection (`engine.api.web.server`) does the socket work.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from urllib.parse import parse_qsl

if TYPE_CHECKING:
    from engine.api.web.body import Body
    from engine.api.web.server import Connection

T = TypeVar("T")


class AppKey(Generic[T]):
    """A typed key for values the composition root stores on the Application."""

    def __init__(self, name: str, t: type[T] | None = None) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<AppKey {self.name}>"


class Headers(MutableMapping[str, str]):
    """Case-insensitive header fields that keep the spelling they were set with."""

    def __init__(self, items: Mapping[str, str] | None = None) -> None:
        self._d: dict[str, tuple[str, str]] = {}
        if items:
            for k, v in items.items():
                self[k] = v

    def __getitem__(self, key: str) -> str:
        return self._d[key.lower()][1]

    def __setitem__(self, key: str, value: str) -> None:
        self._d[key.lower()] = (key, value)

    def __delitem__(self, key: str) -> None:
        del self._d[key.lower()]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._d

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._d.values())

    def __len__(self) -> int:
        return len(self._d)

    def pairs(self) -> Iterator[tuple[str, str]]:
        return iter(self._d.values())


class RequestHeaders(dict[str, str]):
    """A request's header fields by lower-case name; lookups take any case. Repeats are joined by ", "."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        super().__init__()
        for name, value in pairs:
            prior = dict.get(self, name)
            dict.__setitem__(self, name, value if prior is None else f"{prior}, {value}")

    def __getitem__(self, key: str) -> str:
        return dict.__getitem__(self, key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and dict.__contains__(self, key.lower())

    def get(self, key: str, default: Any = None) -> Any:
        return dict.get(self, key.lower(), default)


class Query(Mapping[str, str]):
    """The query string; repeated keys (`?t=a&t=b`) are kept: `getall`. Plain lookups give the first."""

    def __init__(self, raw: str) -> None:
        self._pairs = parse_qsl(raw, keep_blank_values=True) if raw else []
        self._first: dict[str, str] = {}
        for k, v in self._pairs:
            self._first.setdefault(k, v)

    def __getitem__(self, key: str) -> str:
        return self._first[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._first)

    def __len__(self) -> int:
        return len(self._first)

    def getall(self, key: str, default: list[str] | None = None) -> list[str]:
        values = [v for k, v in self._pairs if k == key]
        if not values and default is not None:
            return default
        if not values:
            raise KeyError(key)
        return values


class Application(dict):  # type: ignore[type-arg]
    """The route table, the middlewares and the services handlers reach by AppKey."""

    def __init__(self, middlewares: list[Any] | None = None) -> None:
        super().__init__()
        from engine.api.web.router import Router

        self.middlewares = list(middlewares or [])
        self.router = Router()


class Request:
    def __init__(
        self,
        app: Application,
        connection: Connection,
        method: str,
        path: str,
        query_string: str,
        version: tuple[int, int],
        headers: RequestHeaders,
        body: Body,
    ) -> None:
        self.app = app
        self.connection = connection
        self.method = method
        self.path = path
        self.query_string = query_string
        self.version = version
        self.headers = headers
        self.content = body
        self.match_info: dict[str, str] = {}
        self._query: Query | None = None
        self._read: bytes | None = None

    @property
    def query(self) -> Query:
        if self._query is None:
            self._query = Query(self.query_string)
        return self._query

    async def read(self) -> bytes:
        if self._read is None:
            self._read = await self.content.read()
        return self._read

    async def json(self) -> Any:
        return json.loads(await self.read())


class StreamResponse:
    """A response whose body the handler writes as it goes: `prepare`, `write`..., `write_eof`."""

    def __init__(
        self, *, status: int = 200, reason: str | None = None, headers: Mapping[str, str] | None = None
    ) -> None:
        self.status = status
        self.reason = reason
        self.headers = Headers(headers)
        self.keep_alive = True
        self.prepared = False
        self.hijacked = False  # the handler took the connection over (attach, exec start, websocket)
        self._conn: Connection | None = None
        self._mode = "raw"  # body framing, from the connection: "chunked", "raw" or "none"
        self._eof = False

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")

    @content_type.setter
    def content_type(self, value: str) -> None:
        self.headers["Content-Type"] = value

    async def prepare(self, request: Request) -> None:
        if self.prepared:
            return
        self._conn = request.connection
        self._mode = self._conn.start_response(self, request, None)
        self.prepared = True

    async def write(self, data: bytes) -> None:
        if self._conn is None:
            raise RuntimeError("write before prepare")
        if self._eof:
            raise RuntimeError("write after write_eof")
        if not data or self._mode == "none":
            return
        await self._conn.send(b"%x\r\n%b\r\n" % (len(data), data) if self._mode == "chunked" else data)

    async def write_eof(self, data: bytes = b"") -> None:
        if self._eof or self._conn is None:
            return
        if data:
            await self.write(data)
        self._eof = True
        if self._mode == "chunked":
            await self._conn.send(b"0\r\n\r\n")

    @property
    def finished(self) -> bool:
        return self._eof


class Response(StreamResponse):
    """A response with its whole body at hand: sent with Content-Length by the connection."""

    def __init__(
        self,
        *,
        status: int = 200,
        reason: str | None = None,
        body: bytes | None = None,
        text: str | None = None,
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(status=status, reason=reason, headers=headers)
        if text is not None:
            body = text.encode()
            content_type = content_type or "text/plain; charset=utf-8"
        self.body = body or b""
        if content_type is not None:
            self.headers["Content-Type"] = content_type

    async def prepare(self, request: Request) -> None:
        if self.prepared:
            return
        self._conn = request.connection
        self._conn.start_response(self, request, self.body)
        self.prepared = True
        self._eof = True


def json_response(data: Any, *, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    body = json.dumps(data).encode()
    return Response(status=status, body=body, content_type="application/json", headers=headers)
