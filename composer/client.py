"""The Engine API client composer uses: docker-py's low-level `APIClient`, chosen by -H/DOCKER_HOST.

Decision: docker-py (not a client of our own). It already speaks unix://, tcp:// with the DOCKER_TLS_VERIFY /
DOCKER_CERT_PATH settings, ssh:// (through the ssh binary), the hijacked attach/exec streams and the
multiplexed log format, and it is an independent implementation of the API our engine serves. Commands use
`Engine.api` (a `docker.APIClient`) directly and wrap calls in `engine_errors()` so an API failure becomes
one clear `ComposerError` line.

    engine = composer.session.connect(options)   # starts the embedded engine if needed
    with engine_errors("web"):
        engine.api.start(container_id)

Host choice (`composer.session.connect`), as the docker CLI's: `--context` (an error together with `-H`),
then `-H`, then DOCKER_HOST, then DOCKER_CONTEXT or config.json's currentContext
(`composer.dockercli.contexts`: host and TLS material), then the "default" context: the embedded socket
(`composer.embedded.places`). Only for the embedded engine do we start a daemon when nobody answers, and we
say so in one line on stderr.
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import logging
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from composer.errors import ComposerError
from composer.lite import unix_path

if TYPE_CHECKING:
    import docker

log = logging.getLogger(__name__)

TIMEOUT = 120  # seconds per request; stop with a long grace period needs more, see `stop_timeout`


class EngineError(ComposerError):
    """An Engine API call failed; the message names what we were doing and the engine's own words."""


class EngineUnreachable(EngineError):
    pass


@dataclass(frozen=True)
class Engine:
    host: str
    embedded: bool  # True when we talk to the default embedded engine
    environ: Mapping[str, str] = field(default_factory=dict)
    streaming: bool = False  # no per-request timeout: calls that block for long (logs -f, events, wait)

    @cached_property
    def api(self) -> docker.APIClient:
        """docker-py's low-level client (imported on first use: it costs ~0.13 s)."""
        api = make_api(self.host, self.environ)
        if self.streaming:
            api.timeout = None
        return api

    @cached_property
    def client(self) -> Any:
        """docker-py-compatible client for composer's own calls: the small unix-socket client
        (`composer.lite.Client`, which hands streams to `api`) when possible, else `api` itself."""
        path = unix_path(self.host)
        if path is None:
            return self.api
        from composer.lite import Client

        return Client(path, timeout=TIMEOUT, fallback=lambda: self.api)

    @property
    def reader(self) -> Any:
        """For read-only calls (observe, ps, ls)."""
        return self.client

    def close(self) -> None:
        """Close the clients' connections; a later call makes new clients."""
        api = self.__dict__.pop("api", None)
        client = self.__dict__.pop("client", None)
        if api is not None:
            api.close()
        if client is not None and client is not api:
            client.close()


def make_api(host: str, environ: Mapping[str, str], *, timeout: int = TIMEOUT) -> docker.APIClient:
    """A docker-py APIClient for `host`, with TLS settings from the environment for tcp:// hosts."""
    import docker
    from docker.utils import kwargs_from_env

    kwargs: dict[str, Any] = {}
    if host.startswith(("tcp://", "https://")):
        with engine_errors("reading TLS settings"):
            env_kwargs = kwargs_from_env(environment=dict(environ))
        if env_kwargs.get("tls"):
            kwargs["tls"] = env_kwargs["tls"]
    try:
        api = _client_class()(
            base_url=host,
            version=environ.get("DOCKER_API_VERSION") or "auto",
            timeout=timeout,
            use_ssh_client=host.startswith("ssh://"),
            max_pool_size=32,
            **kwargs,
        )
    except docker.errors.DockerException as exc:
        raise EngineUnreachable(f"cannot connect to the engine at {host}: {_short(exc)}") from None
    # Registry credentials (auths, credsStore, credHelpers) from the docker CLI's config.json of *this*
    # environment: docker-py read os.environ's; the plugin's --config or a test may name another one.
    from composer.dockercli.config import config_file

    if (path := config_file(environ)).is_file():
        api.reload_config(str(path))
    return api


@functools.cache
def _client_class() -> type[docker.APIClient]:
    import docker

    class APIClient(docker.APIClient):  # type: ignore[misc]  # docker-py has no type information
        """DOCKER_CERT_PATH's ca.pem is the one trust root for the engine, as with the docker CLI: plain
        requests would let REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE replace it on every request."""

        def merge_environment_settings(
            self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any
        ) -> Any:
            out = super().merge_environment_settings(url, proxies, stream, verify, cert)
            if isinstance(self.verify, str):
                out["verify"] = self.verify
            return out

    return APIClient


def ping(host: str, environ: Mapping[str, str], *, timeout: int = 2) -> bool:
    """Does an engine answer on `host`? (no exception, no version negotiation)."""
    path = unix_path(host)
    if path is not None:
        from composer.lite import Client

        client = Client(path, timeout=timeout)
        try:
            return client.ping()
        except (OSError, http.client.HTTPException):
            return False
        finally:
            client.close()
    try:
        api = make_api(host, environ, timeout=timeout)  # with the TLS settings of tcp:// hosts
    except ComposerError:
        return False
    try:
        return bool(api.ping())
    except Exception:  # any failure to reach it means "no"
        return False
    finally:
        api.close()


def _short(exc: BaseException) -> str:
    """An API error's own message without docker-py's 'NNN Client Error for http+docker://...' prefix."""
    explanation = getattr(exc, "explanation", None)
    if explanation:
        return str(explanation.decode() if isinstance(explanation, bytes) else explanation).strip()
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def is_not_found(exc: BaseException) -> bool:
    return getattr(exc, "status_code", None) == 404


@contextlib.contextmanager
def engine_errors(doing: str | None = None) -> Iterator[None]:
    """Turn API / connection failures into one `EngineError` line: '<doing>: <engine's message>', or the
    engine's message alone when there is no `doing` (what `docker compose` prints for exec, logs, cp ...).
    The original exception stays as __cause__ (is_not_found(exc.__cause__) tells a 404)."""
    from composer.lite import LiteError

    def failed(exc: BaseException) -> EngineError:
        return EngineError(f"{doing}: {_short(exc)}" if doing else _short(exc))

    def unreachable(exc: BaseException) -> EngineUnreachable:
        if doing:
            return EngineUnreachable(f"{doing}: cannot reach the engine ({_short(exc)})")
        return EngineUnreachable(f"cannot reach the engine: {_short(exc)}")

    try:
        yield
    except LiteError as exc:
        raise failed(exc) from exc
    except Exception as exc:
        if "docker" in sys.modules:  # docker-py's errors first: its APIError is an OSError too (requests')
            import docker
            import requests

            if isinstance(exc, docker.errors.APIError):
                raise failed(exc) from exc
            if isinstance(exc, requests.exceptions.ConnectionError):
                raise unreachable(exc) from exc
            if isinstance(exc, docker.errors.DockerException):
                raise (failed(exc) if doing else unreachable(exc)) from exc
        if isinstance(exc, (OSError, http.client.HTTPException)):
            raise unreachable(exc) from exc
        raise
