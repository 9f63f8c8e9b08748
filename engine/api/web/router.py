"""The route table: paths with `{name}` (one segment) or `{name:regex}` placeholders, each reachable
bare and under Docker's version prefix `/v1.NN/` (given to handlers as match_info["version"]).

Static paths are a dict lookup; patterns are tried in the order added, grouped by first segment so a
request tries only a handful. A path that matches with another method only is a 405.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.api.web.messages import Request, StreamResponse

Handler = Callable[["Request"], Awaitable["StreamResponse"]]
_VERSION = re.compile(r"/v([0-9]+\.[0-9]+)(?=/)")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::((?:[^{}]|\{[^{}]*\})+))?\}")


class HTTPException(Exception):
    """Raised by the router (404, 405); the error middleware turns it into Docker's JSON error."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


def _compile(path: str) -> re.Pattern[str]:
    out, pos = [], 0
    for m in _PLACEHOLDER.finditer(path):
        out.append(re.escape(path[pos : m.start()]))
        out.append(f"(?P<{m.group(1)}>{m.group(2) or '[^/]+'})")
        pos = m.end()
    out.append(re.escape(path[pos:]))
    return re.compile("".join(out) + r"\Z")


def _first_segment(path: str) -> str:
    return path.split("/", 2)[1] if path.count("/") >= 1 else ""


class Router:
    def __init__(self) -> None:
        self._static: dict[str, dict[str, Handler]] = {}
        self._patterns: dict[str, list[tuple[re.Pattern[str], dict[str, Handler]]]] = {}

    def add_route(self, method: str, path: str, handler: Handler) -> None:
        """The first handler added for a method and path wins."""
        if "{" not in path:
            self._static.setdefault(path, {}).setdefault(method, handler)
            return
        group = self._patterns.setdefault(_first_segment(path), [])
        for pattern, methods in group:
            if pattern.pattern == _compile(path).pattern:
                methods.setdefault(method, handler)
                return
        group.append((_compile(path), {method: handler}))

    def add_get(self, path: str, handler: Handler, *, allow_head: bool = True) -> None:
        self.add_route("GET", path, handler)
        if allow_head:
            self.add_route("HEAD", path, handler)

    def resolve(self, method: str, path: str) -> tuple[Handler, dict[str, Any]]:
        """The handler and match_info for a request; HTTPException(404/405) if none."""
        info: dict[str, Any] = {}
        if path.startswith("/v") and (m := _VERSION.match(path)):
            info["version"] = m.group(1)
            path = path[m.end() :]
        allowed = False  # the path matched some route, if not with this method: 405 rather than 404
        methods = self._static.get(path)
        if methods is not None:
            if (handler := methods.get(method)) is not None:
                return handler, info
            allowed = True
        for pattern, candidate in self._patterns.get(_first_segment(path), ()):
            if m := pattern.match(path):
                if (handler := candidate.get(method)) is not None:
                    info.update(m.groupdict())
                    return handler, info
                allowed = True
        raise HTTPException(405 if allowed else 404)
