"""RegistryClient: the engine's one entry point for pull, push and login against OCI registries."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from engine.errors import EngineError, InvalidParameter, NotFound, Unavailable
from engine.registry import store as st
from engine.registry.auth import Credentials, TokenCache, parse_challenges
from engine.registry.credentials import load_config_credentials
from engine.registry.endpoints import Endpoint, RegistryOptions, endpoints_for
from engine.registry.errors import DigestMismatch, Unauthorized
from engine.registry.manifest import Manifest, Platform, host_platform, parse_manifest
from engine.registry.progress import Progress, ProgressCallback
from engine.registry.pull import Puller, fetch_config, fetch_manifest, resolve
from engine.registry.push import Pusher
from engine.registry.reference import DOCKER_HUB, Reference, parse
from engine.registry.transport import NETWORK_ERRORS, Session, registry_error

log = logging.getLogger(__name__)
T = TypeVar("T")


class RegistryClient:
    def __init__(
        self,
        store: st.BlobStore | None = None,
        options: RegistryOptions | None = None,
        *,
        staging_dir: Path | None = None,
    ) -> None:
        self.store = store
        self.options = options or RegistryOptions()
        self.staging_dir = staging_dir
        self.tokens = TokenCache()

    # -- helpers ----------------------------------------------------------------------------------------
    def credentials_for(self, host: str, explicit: Credentials | None = None) -> Credentials | None:
        """Explicit credentials (X-Registry-Auth) win over ~/.docker/config.json."""
        if explicit:
            return explicit
        return load_config_credentials(host, self.options.config_path)

    def _on_endpoints(
        self,
        ref: Reference,
        actions: str,
        creds: Credentials | None,
        fn: Callable[[Session], T],
        *,
        extra_scopes: tuple[str, ...] = (),
    ) -> tuple[Session, T]:
        """Run `fn` on the first endpoint that answers: mirrors fall through on any failure, an
        insecure registry's HTTPS falls back to HTTP when TLS cannot be spoken."""
        errors: list[str] = []
        endpoints = endpoints_for(ref.domain, self.options)
        for i, ep in enumerate(endpoints):
            last = i == len(endpoints) - 1
            session = Session(ep, ref.path, actions, creds, self.tokens, extra_scopes)
            try:
                return session, fn(session)
            except DigestMismatch:
                session.close()
                raise
            except NETWORK_ERRORS as exc:
                session.close()
                log.info("registry endpoint failed url=%s error=%s", ep.url, exc)
                errors.append(f"{ep.url}: {exc}")
                if last:
                    break
            except EngineError as exc:
                session.close()
                if not ep.mirror or last:
                    raise
                log.info("registry mirror failed url=%s error=%s", ep.url, exc.message)
                errors.append(f"{ep.url}: {exc.message}")
        raise Unavailable(f"cannot reach registry {ref.domain}: " + "; ".join(errors))

    # -- operations -------------------------------------------------------------------------------------
    def pull(
        self,
        ref: str,
        *,
        platform: str | None = None,
        credentials: Credentials | None = None,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> Any:
        """Pull `ref` into the store and tag it; progress messages as `docker pull` shows them.

        Setting `cancel` (e.g. when the API client disconnects) stops the downloads: Cancelled is raised."""
        if self.store is None:
            raise InvalidParameter("registry client has no image store to pull into")
        reference = parse(ref)
        want = Platform.parse(platform) if platform else host_platform()
        creds = self.credentials_for(reference.domain, credentials)
        prog = Progress(progress)
        if reference.tag:
            prog.status(f"Pulling from {reference.path}", reference.tag)
        else:
            prog.status(f"Pulling from {reference.path}", reference.digest)
        session, resolved = self._on_endpoints(
            reference, "pull", creds, lambda s: resolve(s, reference, want)
        )
        log.info("pulling ref=%s endpoint=%s digest=%s", reference, session.endpoint.url, resolved.digest)
        puller = Puller(
            self.store,
            prog,
            concurrency=self.options.max_concurrent_downloads,
            max_retries=self.options.max_retries,
            staging_dir=self.staging_dir,
            cancel=cancel,
        )
        with session:
            return puller.pull(session, reference, resolved)

    def push(
        self,
        ref: str,
        *,
        credentials: Credentials | None = None,
        progress: ProgressCallback | None = None,
        chunk_size: int | None = None,
    ) -> str:
        """Push the local image `ref` (tag "latest" if none) and return the manifest digest."""
        if self.store is None:
            raise InvalidParameter("registry client has no image store to push from")
        reference = parse(ref)
        if reference.digest and not reference.tag:
            raise InvalidParameter("cannot push a digest reference; push a tag")
        image = st.find_image(self.store, ref)
        if image is None:
            raise NotFound(f"An image does not exist locally with the tag: {reference.familiar_name()}")
        creds = self.credentials_for(reference.domain, credentials)
        prog = Progress(progress)
        prog.status(f"The push refers to repository [{reference.name}]")
        pusher = Pusher(
            self.store,
            prog,
            concurrency=self.options.max_concurrent_uploads,
            staging_dir=self.staging_dir,
            chunk_size=chunk_size,
            max_retries=self.options.max_retries,
        )
        plan = pusher.plan(image, reference)
        try:
            mounts = tuple(f"repository:{src}:pull" for src in plan.mount_sources)
            session, _ = self._on_endpoints(
                reference, "pull,push", creds, lambda s: s.authenticate_upfront(), extra_scopes=mounts
            )
            with session:
                return pusher.push(session, reference, plan)
        finally:
            plan.cleanup()

    def login(self, registry: str, username: str, password: str) -> dict[str, str]:
        """Check credentials the way `POST /auth` does; raises Unauthorized when the registry refuses them."""
        host = registry.strip()
        if "://" in host:
            host = host.split("://", 1)[1]
        host = host.split("/", 1)[0] or DOCKER_HUB
        if host in ("index.docker.io", "registry-1.docker.io"):
            host = DOCKER_HUB
        if not username or not password:
            raise InvalidParameter("login needs a username and a password")
        creds = Credentials(username, password)
        errors: list[str] = []
        for ep in [e for e in endpoints_for(host, self.options) if not e.mirror]:
            # A fresh token cache: a login must prove the password now, not reuse an earlier token.
            try:
                with Session(ep, None, "", creds, TokenCache()) as session:
                    self._check_login(session)
                log.info("login succeeded registry=%s user=%s", host, username)
                return {"Status": "Login Succeeded", "IdentityToken": ""}
            except NETWORK_ERRORS as exc:
                errors.append(f"{ep.url}: {exc}")
        raise Unavailable(f"cannot reach registry {host}: " + "; ".join(errors))

    def _check_login(self, session: Session) -> None:
        resp = session.request("GET", "")
        status, header = resp.status, resp.header("WWW-Authenticate")
        if status == 200:
            resp.body()
            return
        if status != 401:
            raise registry_error(resp, f"login to {session.endpoint.host}")
        resp.body()
        if not parse_challenges(header):
            raise Unauthorized(f"login to {session.endpoint.host}: unauthorized")
        raise Unauthorized(f"{session.endpoint.host}: unauthorized: incorrect username or password")

    def describe(self, ref: str, *, credentials: Credentials | None = None) -> dict[str, Any]:
        """GET /distribution/{name}/json: the manifest descriptor `ref` names and the platforms it offers."""
        reference = parse(ref)

        def fetch(session: Session) -> dict[str, Any]:
            target = reference.digest or reference.tag or "latest"
            body, ctype, digest = fetch_manifest(session, target, reference.familiar())
            doc = parse_manifest(body, ctype)
            platforms: list[dict[str, Any]] = []
            if isinstance(doc, Manifest):
                config = json.loads(fetch_config(session, doc.config))
                platforms.append({k: config[k] for k in ("architecture", "os", "variant") if config.get(k)})
            else:
                for m in json.loads(body).get("manifests") or []:
                    p = m.get("platform") or {}
                    if p:
                        platforms.append({k: v for k, v in p.items() if v})
            return {
                "Descriptor": {"mediaType": ctype, "digest": digest, "size": len(body)},
                "Platforms": platforms,
            }

        session, info = self._on_endpoints(
            reference, "pull", self.credentials_for(reference.domain, credentials), fetch
        )
        session.close()
        return info

    def ping(self, endpoint: Endpoint) -> int:
        """GET /v2/ without credentials; the HTTP status (200 open, 401 needs auth)."""
        with Session(endpoint, None, "", None, self.tokens) as session:
            resp = session.request("GET", "", follow=False, authenticate=False)
            resp.body()
            return resp.status
