"""Registry authentication: credentials, WWW-Authenticate challenges, the bearer token cache."""

from __future__ import annotations

import base64
import logging
import re
import threading
import time
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Credentials:
    """Registry credentials from X-Registry-Auth (user/password or tokens)."""

    username: str = ""
    password: str = ""
    identity_token: str = ""  # an OAuth refresh token; sent to the token server instead of a password
    registry_token: str = ""  # a bearer token given as-is

    def __bool__(self) -> bool:
        return bool(self.username or self.identity_token or self.registry_token)

    def basic_header(self) -> str:
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode()

    def __repr__(self) -> str:  # never print secrets into logs
        return f"Credentials(username={self.username!r})"


@dataclass(frozen=True)
class Challenge:
    """A registry's WWW-Authenticate challenge: scheme and parameters."""

    scheme: str  # "basic" or "bearer" (lower-cased)
    params: dict[str, str]

    @property
    def realm(self) -> str:
        return self.params.get("realm", "")


_PARAM = re.compile(r'\s*([A-Za-z0-9_.-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]*))\s*(?:,|$)')


def parse_challenges(header: str) -> list[Challenge]:
    """Parse `Bearer realm="..",service="..",scope="a,b", Basic realm="x"` into challenges (RFC 7235)."""
    out: list[Challenge] = []
    pos = 0
    text = header.strip()
    while pos < len(text):
        m = re.match(r"\s*,?\s*([A-Za-z][A-Za-z0-9_-]*)\s*", text[pos:])
        if not m:
            break
        scheme = m.group(1).lower()
        pos += m.end()
        params: dict[str, str] = {}
        while pos < len(text):
            pm = _PARAM.match(text, pos)
            if not pm:
                break
            value = pm.group(2) if pm.group(2) is not None else pm.group(3)
            params[pm.group(1).lower()] = re.sub(r"\\(.)", r"\1", value)
            pos = pm.end()
        out.append(Challenge(scheme, params))
    return out


@dataclass(frozen=True)
class Token:
    """A registry bearer token and when it expires."""

    value: str
    expires_at: float


class TokenCache:
    """Bearer tokens keyed by (realm, service, scope, identity): one fetch per scope, reused until expiry."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[tuple[str, str, str, str], Token] = {}

    def get(self, key: tuple[str, str, str, str]) -> str | None:
        with self._lock:
            tok = self._tokens.get(key)
            if tok and tok.expires_at > time.monotonic() + 5:
                return tok.value
            self._tokens.pop(key, None)
            return None

    def put(self, key: tuple[str, str, str, str], value: str, expires_in: int) -> None:
        with self._lock:
            self._tokens[key] = Token(value, time.monotonic() + max(expires_in, 60))

    def __len__(self) -> int:
        return len(self._tokens)
