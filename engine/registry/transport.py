"""HTTP to one registry endpoint for one repository: TLS, redirects, 401 challenge -> Basic/Bearer auth."""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import ssl
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlencode, urljoin, urlsplit

from engine.errors import EngineError, Forbidden, InvalidParameter, NotFound, Unavailable
from engine.registry.auth import Challenge, Credentials, TokenCache, parse_challenges
from engine.registry.endpoints import Endpoint
from engine.registry.errors import Unauthorized
from engine.registry.pool import STALE_ERRORS, ConnectionPool

log = logging.getLogger(__name__)

USER_AGENT = "composer-engine/0.1 (registry client)"
TIMEOUT = 30.0
_MAX_REDIRECTS = 5
# Errors that mean "this endpoint cannot be reached": try the next endpoint (or retry a blob).
NETWORK_ERRORS: tuple[type[BaseException], ...] = (OSError, http.client.HTTPException, ssl.SSLError)


@dataclass
class Response:
    """A registry HTTP response: status, headers, the URL it came from."""

    status: int
    headers: http.client.HTTPMessage
    url: str
    _resp: http.client.HTTPResponse
    _release: Callable[[bool], None]  # back to the pool (True) or closed (False)

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name, default)

    def read(self, amt: int | None = None) -> bytes:
        return self._resp.read(amt)

    def close(self) -> None:
        """Done: the connection is reused when the body was read to its end and the server keeps it open."""
        if self._release is _released:
            return
        reusable = self._resp.isclosed() and not self._resp.will_close
        self._resp.close()
        release, self._release = self._release, _released
        release(reusable)

    def body(self) -> bytes:
        try:
            return self._resp.read()
        finally:
            self.close()


def _released(reusable: bool) -> None:
    """Marks a Response whose connection went back already."""


def registry_error(resp: Response, what: str) -> EngineError:
    """Turn an error answer into an engine error using the registry's own message when it gives one."""
    raw = resp.body()
    message = ""
    try:
        errors = json.loads(raw).get("errors") or []
        message = "; ".join(
            f"{str(e.get('code', '')).lower().replace('_', ' ')}: {e.get('message', '')}".strip(": ")
            for e in errors
        )
    except (ValueError, AttributeError):
        message = raw[:200].decode(errors="replace").strip()
    text = f"{what}: {message or http.client.responses.get(resp.status, 'error')}"
    if resp.status == 401:
        return Unauthorized(text)
    if resp.status == 403:
        return Forbidden(text)
    if resp.status == 404:
        return NotFound(text)
    if resp.status in (400, 405, 411, 413, 415, 416):
        return InvalidParameter(text)
    return Unavailable(f"{text} (HTTP {resp.status})")


class Session:
    """Requests to `endpoint` on behalf of repository `path` with the given actions ("pull" or "pull,push").

    The Authorization to send is learnt from the first 401 and then reused; threads may share a session.
    """

    def __init__(
        self,
        endpoint: Endpoint,
        path: str | None,
        actions: str,
        credentials: Credentials | None,
        tokens: TokenCache,
        extra_scopes: Iterable[str] = (),
    ) -> None:
        self.endpoint = endpoint
        self.path = path
        self.credentials = credentials
        self.tokens = tokens
        self.scopes = ([f"repository:{path}:{actions}"] if path else []) + list(extra_scopes)
        self._auth: str | None = None
        self._lock = threading.Lock()
        self._pool = ConnectionPool(endpoint.ssl_context)

    def close(self) -> None:
        """Close the idle keep-alive connections (the session is finished)."""
        self._pool.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- raw HTTP ---------------------------------------------------------------------------------------
    def _open(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes | Iterable[bytes] | None,
        timeout: float,
    ) -> Response:
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        hdrs = {"User-Agent": USER_AGENT, **headers}
        replayable = isinstance(body, bytes | None)
        while True:
            # Streamed bodies cannot be sent twice, so they never risk a connection that may be stale.
            if replayable:
                conn, reused = self._pool.get(key, timeout)
            else:
                conn, reused = self._pool.new(key, timeout), False
            try:
                if replayable:
                    conn.request(method, target, body=body, headers=hdrs)
                else:
                    conn.request(
                        method, target, body=body, headers=hdrs, encode_chunked="Content-Length" not in hdrs
                    )
                resp = conn.getresponse()
            except STALE_ERRORS:
                conn.close()
                if reused:
                    continue  # the server dropped an idle connection: once more on a fresh one
                raise
            except BaseException:
                conn.close()
                raise
            return Response(resp.status, resp.headers, url, resp, self._releaser(key, conn))

    def _releaser(self, key: tuple[str, str], conn: http.client.HTTPConnection) -> Callable[[bool], None]:
        def release(reusable: bool) -> None:
            if reusable:
                self._pool.put(key, conn)
            else:
                conn.close()

        return release

    def url(self, suffix: str) -> str:
        return (
            f"{self.endpoint.url}/v2/{suffix}" if not suffix.startswith(("http://", "https://")) else suffix
        )

    def request(
        self,
        method: str,
        suffix: str,
        headers: Mapping[str, str] | None = None,
        body: bytes | Iterable[bytes] | None = None,
        *,
        timeout: float = TIMEOUT,
        follow: bool = True,
        authenticate: bool = True,
    ) -> Response:
        """One request with auth: a 401 is answered once by authenticating; GET/HEAD follow redirects."""
        url = self.url(suffix)
        hdrs = dict(headers or {})
        for attempt in range(2):
            sent = dict(hdrs)
            if self._auth:
                sent["Authorization"] = self._auth
            resp = self._open(method, url, sent, body, timeout)
            redirects = 0
            while (
                follow
                and method in ("GET", "HEAD")
                and resp.status in (301, 302, 303, 307, 308)
                and redirects < _MAX_REDIRECTS
            ):
                location = urljoin(url, resp.header("Location"))
                resp.close()
                redirects += 1
                # Blob storage elsewhere (S3, a CDN) must not see our registry credentials.
                same = urlsplit(location).netloc == urlsplit(url).netloc
                resp = self._open(method, location, sent if same else hdrs, None, timeout)
            if resp.status != 401 or attempt == 1 or not authenticate or not isinstance(body, bytes | None):
                return resp
            challenge_header = resp.header("WWW-Authenticate")
            resp.body()
            self._authenticate(parse_challenges(challenge_header))
        raise AssertionError("unreachable")

    # -- authentication ---------------------------------------------------------------------------------
    def _authenticate(self, challenges: list[Challenge]) -> None:
        with self._lock:
            for ch in challenges:
                if ch.scheme == "bearer":
                    self._auth = "Bearer " + self._bearer_token(ch)
                    return
            for ch in challenges:
                if ch.scheme == "basic":
                    if not self.credentials or not self.credentials.username:
                        raise Unauthorized(
                            f"{self.endpoint.host}: authentication required (no basic auth credentials)"
                        )
                    self._auth = self.credentials.basic_header()
                    return
        raise Unauthorized(
            f"{self.endpoint.host}: unsupported authentication challenge {[c.scheme for c in challenges]}"
        )

    def authenticate_upfront(self) -> None:
        """Ping /v2/ to learn the challenge before large bodies are streamed (they cannot be replayed)."""
        if self._auth:
            return
        resp = self._open("GET", f"{self.endpoint.url}/v2/", {}, None, TIMEOUT)
        header = resp.header("WWW-Authenticate")
        status = resp.status
        resp.body()
        if status == 401:
            self._authenticate(parse_challenges(header))

    def _bearer_token(self, ch: Challenge) -> str:
        if self.credentials and self.credentials.registry_token:
            return self.credentials.registry_token
        realm, service = ch.params.get("realm", ""), ch.params.get("service", "")
        if not realm.startswith(("http://", "https://")):
            raise Unauthorized(f"{self.endpoint.host}: bearer challenge without a usable realm ({realm!r})")
        scopes = list(self.scopes)
        if ch.params.get("scope") and ch.params["scope"] not in scopes:
            scopes.append(ch.params["scope"])
        scope = " ".join(scopes)
        key = (realm, service, scope, self._who())
        cached = self.tokens.get(key)
        if cached:
            return cached
        token, expires_in = self._fetch_token(realm, service, scopes)
        self.tokens.put(key, token, expires_in)
        return token

    def _who(self) -> str:
        """Tokens are cached per identity: a fingerprint of the credentials, never the secret itself."""
        c = self.credentials
        if not c:
            return ""
        secret = f"{c.username}\0{c.password}\0{c.identity_token}".encode()
        return f"{c.username}:{hashlib.sha256(secret).hexdigest()[:16]}"

    def _fetch_token(self, realm: str, service: str, scopes: list[str]) -> tuple[str, int]:
        creds = self.credentials
        if creds and creds.identity_token:
            # OAuth2 refresh-token grant, as Docker does for identity tokens.
            form = urlencode(
                [
                    ("grant_type", "refresh_token"),
                    ("refresh_token", creds.identity_token),
                    ("service", service),
                    ("client_id", "composer"),
                    *[("scope", s) for s in scopes],
                ]
            ).encode()
            resp = self._open(
                "POST", realm, {"Content-Type": "application/x-www-form-urlencoded"}, form, TIMEOUT
            )
        else:
            query = urlencode(
                [
                    ("service", service),
                    *[("scope", s) for s in scopes],
                    *([("account", creds.username)] if creds and creds.username else []),
                ]
            )
            headers = {"Authorization": creds.basic_header()} if creds and creds.username else {}
            sep = "&" if urlsplit(realm).query else "?"
            resp = self._open("GET", f"{realm}{sep}{query}", headers, None, TIMEOUT)
        if resp.status in (401, 403):
            resp.body()
            raise Unauthorized(
                f"{self.endpoint.host}: unauthorized: incorrect username or password"
                if creds
                else f"{self.endpoint.host}: authentication required"
            )
        if resp.status != 200:
            raise registry_error(resp, f"{self.endpoint.host}: token server {realm}")
        try:
            data = json.loads(resp.body())
            token = str(data.get("token") or data.get("access_token") or "")
            expires_in = int(data.get("expires_in") or 60)
        except (ValueError, AttributeError):
            token, expires_in = "", 0
        if not token:
            raise Unauthorized(f"{self.endpoint.host}: token server {realm} answered without a token")
        log.debug("bearer token fetched host=%s scopes=%s", self.endpoint.host, scopes)
        return token, expires_in
