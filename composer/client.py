"""The Engine API client composer uses: `composer.lite.Client`, for the host chosen by -H/DOCKER_HOST.

Decision: a small client of our own (`composer.lite` over `composer.transport`), not docker-py, for every
call composer makes, streams included. Why:
- start-up: docker-py imports requests/urllib3 (~0.13-0.2 s), more than a whole no-change `up` of ours;
  the everyday commands (ps, logs, port, up) are measured against Compose v2's in bench/everyday.py.
- one typed interface: commands, the executor and watch all hold a `Client`; there is no second client
  with other error types behind a fallback, and no version negotiation round trip before the first call.
- it stays small: composer uses ~45 endpoints; the transport speaks unix://, tcp:// (TLS from
  DOCKER_TLS_VERIFY / DOCKER_CERT_PATH), https:// and ssh:// (`docker system dial-stdio`, as the docker
  CLI), the hijacked attach/exec stream and the multiplexed log format.
docker-py stays in the tests as an independent client of our engine (a second implementation of the
same API is what makes it a good witness).

    engine = composer.session.connect(options)   # starts the embedded engine if needed
    with engine_errors("starting web"):
        engine.api.start(container_id)

Host choice (`composer.session.connect`), as the docker CLI's: `--context` (an error together with `-H`),
then `-H`, then DOCKER_HOST, then DOCKER_CONTEXT or config.json's currentContext
(`composer.dockercli.contexts`: host and TLS material), then the "default" context: the embedded socket
(`composer.embedded.places`). Only for the embedded engine do we start a daemon when nobody answers, and we
say so in one line on stderr.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property

from composer._typecheck import TYPE_CHECKING
from composer.errors import ComposerError

if TYPE_CHECKING:
    from composer.lite import Client

TIMEOUT = 120  # seconds per request; stop with a long grace period needs more, see `stop_timeout`


class EngineError(ComposerError):
    """An Engine API call failed; the message names what we were doing and the engine's own words."""


class EngineUnreachable(EngineError):
    pass


@dataclass(frozen=True)
class Engine:
    """The engine this invocation talks to, and how."""

    host: str
    embedded: bool  # True when we talk to the default embedded engine
    environ: Mapping[str, str] = field(default_factory=dict)
    streaming: bool = False  # no per-request timeout: calls that block for long (logs -f, events, wait)

    @cached_property
    def api(self) -> Client:
        """The client for every call (one keep-alive connection per thread; streams get their own)."""
        return make_api(self.host, self.environ, timeout=None if self.streaming else TIMEOUT)

    @property
    def client(self) -> Client:
        """The same client (the name the executor's callers use)."""
        return self.api

    @property
    def reader(self) -> Client:
        """The same client, for read-only calls (observe, ps, ls)."""
        return self.api

    def close(self) -> None:
        """Close the client's connections; a later call makes a new client."""
        api = self.__dict__.pop("api", None)
        if api is not None:
            api.close()


def make_api(host: str, environ: Mapping[str, str], *, timeout: float | None = TIMEOUT) -> Client:
    """A client for `host`, with the TLS settings of the environment for tcp:// hosts."""
    from composer.lite import Client
    from composer.transport import Endpoint

    try:
        endpoint = Endpoint.parse(host, environ)
    except ValueError as exc:
        raise EngineUnreachable(f"cannot connect to the engine at {host}: {exc}") from None
    return Client(endpoint, timeout=timeout)


def ping(host: str, environ: Mapping[str, str], *, timeout: int = 2) -> bool:
    """Does an engine answer on `host`? (no exception, no version negotiation)."""
    try:
        client = make_api(host, environ, timeout=timeout)
    except ComposerError:
        return False
    try:
        return client.ping()
    except (OSError, ValueError):  # any failure to reach it (or TLS settings that cannot load) means "no"
        return False
    finally:
        client.close()


def _short(exc: BaseException) -> str:
    """An error's own message (an API error's `explanation`: the engine's words), on one line."""
    explanation = getattr(exc, "explanation", None)
    if explanation:
        return str(explanation.decode() if isinstance(explanation, bytes) else explanation).strip()
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def is_not_found(exc: BaseException) -> bool:
    return getattr(exc, "status_code", None) == 404


def is_conflict(exc: BaseException) -> bool:
    return getattr(exc, "status_code", None) == 409


@contextlib.contextmanager
def engine_errors(doing: str | None = None) -> Iterator[None]:
    """Turn API / connection failures into one `EngineError` line: '<doing>: <engine's message>', or the
    engine's message alone when there is no `doing` (what `docker compose` prints for exec, logs, cp ...).
    The original exception stays as __cause__ (is_not_found(exc.__cause__) tells a 404)."""
    from composer.transport import APIError

    try:
        yield
    except APIError as exc:
        raise EngineError(f"{doing}: {_short(exc)}" if doing else _short(exc)) from exc
    except OSError as exc:
        if doing:
            raise EngineUnreachable(f"{doing}: cannot reach the engine ({_short(exc)})") from exc
        raise EngineUnreachable(f"cannot reach the engine: {_short(exc)}") from exc
