"""Parsing an HTTP/1.1 request head (RFC 9112 section 3 and 5): the request line and the header fields.

Only what an API server needs: origin-form targets, no obsolete line folding. Bad input raises
`BadRequest` with a one-line reason; the connection answers 400 and closes.
"""

from __future__ import annotations

from dataclasses import dataclass

_TOKEN_CHARS = frozenset(b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


class BadRequest(Exception):
    pass


@dataclass(frozen=True)
class RequestHead:
    """An HTTP request's first line and headers, parsed."""

    method: str
    target: str  # path and query as sent
    version: tuple[int, int]
    headers: tuple[tuple[str, str], ...]  # (lower-case name, value) in the order sent


def parse_head(raw: bytes) -> RequestHead:
    """`raw` is everything up to and including the blank line that ends the head."""
    lines = raw.split(b"\r\n")
    while lines and lines[0] == b"":  # RFC 9112 2.2: ignore empty lines before the request line
        lines.pop(0)
    if not lines:
        raise BadRequest("empty request")
    method, target, version = _request_line(lines[0])
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(b":")
        if not sep or not name or not _is_token(name):
            raise BadRequest(f"malformed header line {line[:40]!r}")
        headers.append((name.decode("ascii").lower(), value.strip(b" \t").decode("latin-1")))
    return RequestHead(method, target, version, tuple(headers))


def _request_line(line: bytes) -> tuple[str, str, tuple[int, int]]:
    parts = line.split(b" ")
    if len(parts) != 3:
        raise BadRequest(f"malformed request line {line[:60]!r}")
    method, target, version = parts
    if not _is_token(method):
        raise BadRequest("malformed method")
    if not target.startswith(b"/"):
        raise BadRequest("only origin-form request targets are supported")
    if version == b"HTTP/1.1":
        ver = (1, 1)
    elif version == b"HTTP/1.0":
        ver = (1, 0)
    else:
        raise BadRequest(f"unsupported protocol version {version[:20]!r}")
    return method.decode("ascii"), target.decode("latin-1"), ver


def _is_token(value: bytes) -> bool:
    return all(c in _TOKEN_CHARS for c in value)
