"""Registry credentials and challenges: docker config.json, X-Registry-Auth, WWW-Authenticate, tokens."""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from engine.errors import InvalidParameter
from engine.registry.reference import DOCKER_HUB

log = logging.getLogger(__name__)

# The keys Docker writes into config.json for Docker Hub.
_HUB_KEYS = ("https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io")


@dataclass(frozen=True)
class Credentials:
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


def _decode_auth_field(value: str) -> tuple[str, str]:
    try:
        user, sep, password = base64.b64decode(value, validate=False).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidParameter(f"invalid auth entry in docker config: {exc}") from None
    if not sep:
        raise InvalidParameter("invalid auth entry in docker config: expected base64 of user:password")
    return user, password


def decode_registry_auth(header: str) -> Credentials | None:
    """The API's X-Registry-Auth header: base64url JSON {username,password,auth,identitytoken,...}."""
    if not header or header.strip() in ("", "e30=", "{}"):
        return None
    text = header.strip()
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError):
        raise InvalidParameter("invalid X-Registry-Auth header: not base64url-encoded JSON") from None
    if not isinstance(data, dict):
        raise InvalidParameter("invalid X-Registry-Auth header: not a JSON object")
    user, password = str(data.get("username") or ""), str(data.get("password") or "")
    if not user and data.get("auth"):
        user, password = _decode_auth_field(str(data["auth"]))
    creds = Credentials(
        user, password, str(data.get("identitytoken") or ""), str(data.get("registrytoken") or "")
    )
    return creds or None


def _host_of_key(key: str) -> str:
    """config.json keys come as 'host:port', 'https://host:port' or 'https://index.docker.io/v1/'."""
    if "://" in key:
        return urlsplit(key).netloc
    return key.split("/", 1)[0]


def default_config_path() -> Path:
    base = os.environ.get("DOCKER_CONFIG")
    return Path(base) / "config.json" if base else Path.home() / ".docker" / "config.json"


def load_config_credentials(host: str, path: Path | None = None) -> Credentials | None:
    """Credentials for `host` from a config.json `auths` entry (base64 `auth` or username/password)."""
    cfg = path or default_config_path()
    try:
        data = json.loads(cfg.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise InvalidParameter(f"cannot read docker config {cfg}: {exc}") from None
    auths = data.get("auths") or {}
    wanted = set(_HUB_KEYS) if host == DOCKER_HUB else {host}
    for key, entry in auths.items():
        if key not in wanted and _host_of_key(key) not in wanted or not isinstance(entry, dict):
            continue
        user, password = str(entry.get("username") or ""), str(entry.get("password") or "")
        if entry.get("auth"):
            user, password = _decode_auth_field(str(entry["auth"]))
        creds = Credentials(
            user, password, str(entry.get("identitytoken") or ""), str(entry.get("registrytoken") or "")
        )
        if creds:
            return creds
    return None


@dataclass(frozen=True)
class Token:
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


def scope_for(path: str, actions: str) -> str:
    """Docker's resource scope string: repository:library/busybox:pull,push."""
    return f"repository:{path}:{actions}"
