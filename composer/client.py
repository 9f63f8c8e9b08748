"""The Engine API client composer uses: docker-py's low-level `APIClient`, chosen by -H/DOCKER_HOST.

Decision: docker-py (not a client of our own). It already speaks unix://, tcp:// with the DOCKER_TLS_VERIFY /
DOCKER_CERT_PATH settings, ssh:// (through the ssh binary), the hijacked attach/exec streams and the
multiplexed log format, and it is an independent implementation of the API our engine serves. Commands use
`Engine.api` (a `docker.APIClient`) directly and wrap calls in `engine_errors()` so an API failure becomes
one clear `ComposerError` line.

    engine = connect(options)               # GlobalOptions from the CLI; starts the embedded engine if needed
    with engine_errors("web"):
        engine.api.start(container_id)

Host choice: `-H` wins, then DOCKER_HOST, then the embedded socket (`composer.embedded.places`). Only for the
embedded default do we start a daemon when nobody answers, and we say so in one line on stderr.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from composer.errors import ComposerError

if TYPE_CHECKING:
    import docker

    from composer.cli.options import GlobalOptions

log = logging.getLogger(__name__)

TIMEOUT = 120  # seconds per request; stop with a long grace period needs more, see `stop_timeout`


class EngineError(ComposerError):
    """An Engine API call failed; the message names what we were doing and the engine's own words."""


class EngineUnreachable(EngineError):
    pass


@dataclass(frozen=True)
class Engine:
    api: docker.APIClient
    host: str
    embedded: bool  # True when we talk to the default embedded engine

    def close(self) -> None:
        self.api.close()


def resolve_host(option: str | None, environ: Mapping[str, str]) -> tuple[str, bool]:
    """(host, is_embedded_default)."""
    if option:
        return option, False
    env = environ.get("DOCKER_HOST", "").strip()
    if env:
        return env, False
    from composer.embedded import places

    return places(environ).host, True


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
        return docker.APIClient(
            base_url=host,
            version=environ.get("DOCKER_API_VERSION") or "auto",
            timeout=timeout,
            use_ssh_client=host.startswith("ssh://"),
            max_pool_size=32,
            **kwargs,
        )
    except docker.errors.DockerException as exc:
        raise EngineUnreachable(f"cannot connect to the engine at {host}: {_short(exc)}") from None


def ping(host: str, environ: Mapping[str, str], *, timeout: int = 2) -> bool:
    """Does an engine answer on `host`? (no exception, no version negotiation)."""
    import docker

    try:
        client = docker.APIClient(base_url=host, version="1.41", timeout=timeout)
    except docker.errors.DockerException:
        return False
    try:
        return bool(client.ping())
    except Exception:  # any failure to reach it means "no"
        return False
    finally:
        client.close()


def connect(options: GlobalOptions, *, start_embedded: bool = True) -> Engine:
    """The engine for this invocation; starts the embedded one when it is the target and not running."""
    host, embedded = resolve_host(options.host, options.environ)
    if embedded and start_embedded and not ping(host, options.environ):
        from composer.embedded import start_embedded_engine

        start_embedded_engine(announce=True, environ=options.environ)
    log.debug("connecting host=%s embedded=%s", host, embedded)
    return Engine(api=make_api(host, options.environ), host=host, embedded=embedded)


def _short(exc: BaseException) -> str:
    """An API error's own message without docker-py's 'NNN Client Error for http+docker://...' prefix."""
    explanation = getattr(exc, "explanation", None)
    if explanation:
        return str(explanation.decode() if isinstance(explanation, bytes) else explanation).strip()
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def is_not_found(exc: BaseException) -> bool:
    import docker

    return isinstance(exc, docker.errors.NotFound)


def is_conflict(exc: BaseException) -> bool:
    import docker

    return isinstance(exc, docker.errors.APIError) and exc.status_code == 409


@contextlib.contextmanager
def engine_errors(doing: str) -> Iterator[None]:
    """Turn docker-py / connection failures into one `EngineError` line: '<doing>: <engine's message>'."""
    import docker
    import requests

    try:
        yield
    except docker.errors.APIError as exc:
        raise EngineError(f"{doing}: {_short(exc)}") from exc
    except (requests.exceptions.ConnectionError, ConnectionError) as exc:
        raise EngineUnreachable(f"{doing}: cannot reach the engine ({_short(exc)})") from exc
    except docker.errors.DockerException as exc:
        raise EngineError(f"{doing}: {_short(exc)}") from exc
