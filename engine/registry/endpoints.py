"""Which URLs serve a registry host: Hub mirrors, HTTPS with a certs.d CA, plain HTTP when insecure."""

from __future__ import annotations

import functools
import ipaddress
import logging
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from engine.errors import InvalidParameter
from engine.registry.reference import DOCKER_HUB

log = logging.getLogger(__name__)

HUB_URL = "https://registry-1.docker.io"
# Docker treats loopback as insecure without being told to.
_DEFAULT_INSECURE_NETS = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))


@dataclass(frozen=True)
class RegistryOptions:
    """The daemon.json keys that shape registry access."""

    mirrors: tuple[str, ...] = ()  # "registry-mirrors": URLs tried before Docker Hub
    insecure: tuple[str, ...] = ()  # "insecure-registries": host[:port] or CIDR
    certs_dir: Path = Path("/etc/docker/certs.d")
    config_path: Path | None = None  # ~/.docker/config.json (None: $DOCKER_CONFIG or ~/.docker)
    max_concurrent_downloads: int = 3
    max_concurrent_uploads: int = 5
    max_retries: int = 5

    @classmethod
    def from_daemon_config(cls, cfg: Mapping[str, Any], **overrides: Any) -> RegistryOptions:
        """Build from daemon.json keys (registry-mirrors, insecure-registries, max-concurrent-downloads,
        max-concurrent-uploads, max-download-attempts); `overrides` set the other fields (certs_dir...)."""
        fields: dict[str, Any] = {}
        for key, name in (("registry-mirrors", "mirrors"), ("insecure-registries", "insecure")):
            value = cfg.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise InvalidParameter(f"daemon config: {key} must be a list of strings")
            fields[name] = tuple(value)
        for key, name in (
            ("max-concurrent-downloads", "max_concurrent_downloads"),
            ("max-concurrent-uploads", "max_concurrent_uploads"),
            ("max-download-attempts", "max_retries"),
        ):
            if key in cfg:
                value = cfg[key]
                if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                    raise InvalidParameter(f"daemon config: {key} must be a positive integer")
                fields[name] = value
        return cls(**{**fields, **overrides})

    def __post_init__(self) -> None:
        for url in self.mirrors:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise InvalidParameter(f"invalid mirror: {url!r}: must be an http(s) URL")
        for entry in self.insecure:
            if "://" in entry:
                raise InvalidParameter(f"insecure registry {entry!r} should not contain '://'")


@dataclass(frozen=True)
class Endpoint:
    """One base URL to talk to, with how to verify it."""

    url: str  # "https://127.0.0.1:5000" (no trailing slash)
    host: str  # the registry host the reference names (credentials key)
    mirror: bool = False
    tls_verify: bool = True
    ca_files: tuple[Path, ...] = ()
    client_cert: tuple[Path, Path] | None = None
    _ctx: list[ssl.SSLContext] = field(default_factory=list, compare=False, repr=False)

    def ssl_context(self) -> ssl.SSLContext:
        """System roots plus certs.d CAs, or no verification for insecure hosts (see _shared_context)."""
        if not self._ctx:
            files = (*self.ca_files, *(self.client_cert or ()))
            self._ctx.append(
                _shared_context(self.tls_verify, self.ca_files, self.client_cert, _stamps(files))
            )
        return self._ctx[0]


def _stamps(paths: tuple[Path, ...]) -> tuple[int, ...]:
    """Modification times, so a changed certs.d file gets a fresh context."""
    out = []
    for path in paths:
        try:
            out.append(path.stat().st_mtime_ns)
        except OSError:
            out.append(-1)  # loading it will report the problem
    return tuple(out)


@functools.lru_cache(maxsize=32)
def _shared_context(
    tls_verify: bool,
    ca_files: tuple[Path, ...],
    client_cert: tuple[Path, Path] | None,
    stamps: tuple[int, ...],
) -> ssl.SSLContext:
    """Loading the system roots takes ~20 ms; a daemon pulls often, from few registries, so contexts are
    reused across pulls (SSLContext is safe to share between connections and threads)."""
    del stamps  # only part of the cache key
    ctx = ssl.create_default_context()
    for ca in ca_files:
        ctx.load_verify_locations(cafile=str(ca))
    if client_cert:
        ctx.load_cert_chain(str(client_cert[0]), str(client_cert[1]))
    if not tls_verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def is_insecure(host: str, options: RegistryOptions) -> bool:
    """True for hosts listed in insecure-registries (by name or CIDR) and for loopback, as Docker does."""
    if host in options.insecure:
        return True
    hostname = urlsplit(f"//{host}").hostname or host
    if hostname == "localhost":
        return True
    try:
        addr = ipaddress.ip_address(hostname)
    except ValueError:
        return False
    nets = list(_DEFAULT_INSECURE_NETS)
    for entry in options.insecure:
        try:
            nets.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            continue
    return any(addr in net for net in nets)


def _tls_files(host: str, options: RegistryOptions) -> tuple[tuple[Path, ...], tuple[Path, Path] | None]:
    """certs.d/<host>/*.crt are CAs; a <name>.cert with a <name>.key is a client certificate."""
    d = options.certs_dir / host
    if not d.is_dir():
        return (), None
    cas = tuple(sorted(d.glob("*.crt")))
    client = None
    for cert in sorted(d.glob("*.cert")):
        key = cert.with_suffix(".key")
        if key.exists():
            client = (cert, key)
    return cas, client


def endpoints_for(domain: str, options: RegistryOptions) -> list[Endpoint]:
    """Ordered endpoints to try: mirrors then Hub for docker.io; HTTPS then (if insecure) HTTP otherwise."""
    out: list[Endpoint] = []
    if domain == DOCKER_HUB:
        for mirror in options.mirrors:
            parts = urlsplit(mirror)
            cas, client = _tls_files(parts.netloc, options)
            out.append(
                Endpoint(
                    url=f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}",
                    host=DOCKER_HUB,
                    mirror=True,
                    tls_verify=not is_insecure(parts.netloc, options),
                    ca_files=cas,
                    client_cert=client,
                )
            )
        cas, client = _tls_files("registry-1.docker.io", options)
        out.append(Endpoint(url=HUB_URL, host=DOCKER_HUB, ca_files=cas, client_cert=client))
        return out
    cas, client = _tls_files(domain, options)
    insecure = is_insecure(domain, options)
    out.append(
        Endpoint(
            url=f"https://{domain}", host=domain, tls_verify=not insecure, ca_files=cas, client_cert=client
        )
    )
    if insecure:
        out.append(Endpoint(url=f"http://{domain}", host=domain))
    log.debug("registry endpoints domain=%s urls=%s", domain, [e.url for e in out])
    return out
