"""A small OCI distribution client for pushing blobs and a manifest from the CLI (what `publish` needs).

Images are pushed by the engine; a Compose artifact is not an image, so composer talks to the registry
itself, as Compose does: HTTPS (the CA bundle of SSL_CERT_FILE when set, as Go programs honour it),
Basic or Bearer-token auth with the credentials of the docker CLI's config.json (`auths`, `credHelpers`,
`credsStore`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from composer.errors import ComposerError

log = logging.getLogger(__name__)

DEFAULT_REGISTRY = "docker.io"
MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
INDEX_TYPES = MANIFEST_TYPES[0], MANIFEST_TYPES[2]
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_NAME = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
DOCKER_HUB_API = "registry-1.docker.io"


class PushError(ComposerError):
    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Reference:
    """`[registry/]path[:tag]` as the docker CLI normalizes it (docker.io/library/ for bare names)."""

    registry: str
    path: str
    tag: str

    @classmethod
    def parse(cls, text: str) -> Reference:
        if not text or text != text.strip() or any(c.isupper() for c in text.split("/")[-1].split(":")[0]):
            raise ComposerError("invalid reference format")
        first, slash, rest = text.partition("/")
        if slash and ("." in first or ":" in first or first == "localhost"):
            registry, remainder = first, rest
        else:
            registry, remainder = DEFAULT_REGISTRY, text
        name, colon, tag = remainder.rpartition(":") if ":" in remainder else (remainder, "", "latest")
        if not colon:
            name, tag = remainder, "latest"
        if not re.fullmatch(
            r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*", name
        ):
            raise ComposerError("invalid reference format")
        if not re.fullmatch(r"[\w][\w.-]{0,127}", tag):
            raise ComposerError("invalid reference format")
        if registry == DEFAULT_REGISTRY and "/" not in name:
            name = f"library/{name}"
        return cls(registry, name, tag)

    def __str__(self) -> str:
        return f"{self.registry}/{self.path}:{self.tag}"


def credentials(registry: str, environ: dict[str, str] | None = None) -> tuple[str, str] | None:
    """(user, secret) for the registry from the docker CLI's config, or None."""
    env = os.environ if environ is None else environ
    directory = Path(env.get("DOCKER_CONFIG") or Path.home() / ".docker")
    try:
        config = json.loads((directory / "config.json").read_text())
    except (OSError, ValueError):
        return None
    key = "https://index.docker.io/v1/" if registry == DEFAULT_REGISTRY else registry
    helper = (config.get("credHelpers") or {}).get(key) or config.get("credsStore")
    if helper:
        found = _from_helper(helper, key)
        if found:
            return found
    entry = (config.get("auths") or {}).get(key) or {}
    if entry.get("identitytoken"):
        return "", str(entry["identitytoken"])
    if entry.get("auth"):
        user, _, secret = base64.b64decode(entry["auth"]).decode().partition(":")
        return user, secret
    return None


def _from_helper(helper: str, key: str) -> tuple[str, str] | None:
    try:
        done = subprocess.run(
            [f"docker-credential-{helper}", "get"], input=key, capture_output=True, text=True, timeout=30
        )
    except OSError as exc:
        log.debug("credential helper unavailable helper=%s error=%s", helper, exc)
        return None
    if done.returncode != 0:
        return None
    data = json.loads(done.stdout or "{}")
    return str(data.get("Username") or ""), str(data.get("Secret") or "")


class RegistryClient:
    """Push blobs and manifests to one repository."""

    def __init__(self, ref: Reference, creds: tuple[str, str] | None, actions: str = "pull,push") -> None:
        import requests

        host = DOCKER_HUB_API if ref.registry == DEFAULT_REGISTRY else ref.registry
        self.base = f"https://{host}"
        self.ref = ref
        self.creds = creds
        self.session = requests.Session()
        # explicit on every request: requests would otherwise let REQUESTS_CA_BUNDLE override it
        self.verify: str | bool = os.environ.get("SSL_CERT_FILE") or True
        self.token: str | None = None
        self.actions = actions

    def _request(self, method: str, url: str, **kwargs: Any) -> Any:
        import requests

        for attempt in (1, 2):
            headers = dict(kwargs.pop("headers", None) or {})
            if self.token:
                headers["Authorization"] = self.token
            try:
                response = self.session.request(
                    method, url, headers=headers, timeout=60, verify=self.verify, **kwargs
                )
            except requests.exceptions.SSLError as exc:
                raise PushError(f"failed to do request: {method} {url}: tls: {exc}") from None
            except requests.exceptions.RequestException as exc:
                raise PushError(f"failed to do request: {method} {url}: {exc}") from None
            if response.status_code != 401 or attempt == 2:
                return response
            self._authenticate(response.headers.get("WWW-Authenticate", ""))
            kwargs["headers"] = headers
        raise AssertionError("unreachable")

    def _authenticate(self, challenge: str) -> None:
        scheme, _, params = challenge.partition(" ")
        fields = dict(re.findall(r'(\w+)="([^"]*)"', params))
        if scheme.lower() == "basic":
            if not self.creds:
                raise PushError(f"{self.ref.registry}: authentication required (docker login first)", 401)
            raw = f"{self.creds[0]}:{self.creds[1]}".encode()
            self.token = "Basic " + base64.b64encode(raw).decode()
            return
        if scheme.lower() != "bearer" or "realm" not in fields:
            raise PushError(f"{self.ref.registry}: unsupported authentication challenge {challenge!r}", 401)
        query = {"service": fields.get("service", ""), "scope": f"repository:{self.ref.path}:{self.actions}"}
        auth = self.creds if self.creds and self.creds[0] else None
        response = self.session.get(fields["realm"], params=query, auth=auth, timeout=60, verify=self.verify)
        if response.status_code != 200:
            raise PushError(f"{self.ref.registry}: token request failed: {response.status_code}", 401)
        body = response.json()
        self.token = "Bearer " + str(body.get("token") or body.get("access_token") or "")

    def push_blob(self, digest: str, data: bytes) -> None:
        url = f"{self.base}/v2/{self.ref.path}/blobs/{digest}"
        if self._request("HEAD", url).status_code == 200:
            return
        started = self._request("POST", f"{self.base}/v2/{self.ref.path}/blobs/uploads/")
        _expect(started, 202, f"starting the upload of {digest}")
        location = urljoin(self.base + "/", started.headers["Location"])
        location += ("&" if "?" in location else "?") + f"digest={digest}"
        done = self._request("PUT", location, data=data, headers={"Content-Type": "application/octet-stream"})
        _expect(done, 201, f"uploading {digest}")

    def mount_blob(self, digest: str, from_path: str) -> bool:
        """A cross-repository mount within the registry; False when it has to be uploaded instead."""
        url = f"{self.base}/v2/{self.ref.path}/blobs/uploads/?mount={digest}&from={from_path}"
        return bool(self._request("POST", url).status_code == 201)

    def get_manifest(self, reference: str) -> tuple[str, bytes]:
        """(media type, bytes) of a manifest or index by tag or digest."""
        url = f"{self.base}/v2/{self.ref.path}/manifests/{reference}"
        response = self._request("GET", url, headers={"Accept": ", ".join(MANIFEST_TYPES)})
        _expect(response, 200, f"fetching the manifest {self.ref.path}:{reference}")
        return str(response.headers.get("Content-Type", "")).split(";")[0], bytes(response.content)

    def get_blob(self, digest: str) -> bytes:
        response = self._request("GET", f"{self.base}/v2/{self.ref.path}/blobs/{digest}")
        _expect(response, 200, f"fetching {digest}")
        data = bytes(response.content)
        if "sha256:" + hashlib.sha256(data).hexdigest() != digest:
            raise PushError(f"blob digest mismatch: expected {digest}")
        return data

    def push_manifest(self, media_type: str, data: bytes, tag: str) -> Any:
        url = f"{self.base}/v2/{self.ref.path}/manifests/{tag}"
        done = self._request("PUT", url, data=data, headers={"Content-Type": media_type})
        _expect(done, 201, f"pushing the manifest {tag}")
        return done


def copy_image(source: RegistryClient, target: RegistryClient, reference: str) -> dict[str, Any]:
    """Copy an image (index or manifest, with its config and layers) into the target repository, by
    digest; returns its top descriptor, annotated with where it came from (containerd's
    distribution-source label, as Compose writes it)."""
    media_type, body = source.get_manifest(reference)
    digest = _copy_manifest(source, target, media_type, body)
    host = (
        source.ref.registry.rsplit(":", 1)[0] if source.ref.registry.count(":") == 1 else source.ref.registry
    )
    return {
        "mediaType": media_type,
        "digest": digest,
        "size": len(body),
        "annotations": {f"containerd.io/distribution.source.{host}": source.ref.path},
    }


def _copy_manifest(source: RegistryClient, target: RegistryClient, media_type: str, body: bytes) -> str:
    data = json.loads(body)
    if media_type in INDEX_TYPES:
        for child in data.get("manifests") or []:
            child_type, child_body = source.get_manifest(child["digest"])
            _copy_manifest(source, target, child_type, child_body)
    else:
        for blob in [data.get("config") or {}, *(data.get("layers") or [])]:
            _copy_blob(source, target, str(blob["digest"]))
    digest = "sha256:" + hashlib.sha256(body).hexdigest()
    target.push_manifest(media_type, body, digest)
    return digest


def _copy_blob(source: RegistryClient, target: RegistryClient, digest: str) -> None:
    if target._request("HEAD", f"{target.base}/v2/{target.ref.path}/blobs/{digest}").status_code == 200:
        return
    if source.base == target.base and target.mount_blob(digest, source.ref.path):
        return
    target.push_blob(digest, source.get_blob(digest))


def _expect(response: Any, status: int, doing: str) -> None:
    if response.status_code == status:
        return
    detail = ""
    try:
        errors = response.json().get("errors") or []
        detail = "; ".join(str(e.get("message") or e.get("code")) for e in errors)
    except ValueError:
        detail = response.text[:200]
    raise PushError(f"{doing}: unexpected status {response.status_code}: {detail}", response.status_code)
