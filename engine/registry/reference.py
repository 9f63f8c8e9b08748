"""Split an image reference into registry host, repository path, tag and digest (Docker's normalization)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from engine.errors import InvalidParameter

DOCKER_HUB = "docker.io"
_LEGACY_HUB = {"index.docker.io", "registry-1.docker.io"}
_PATH_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$")


@dataclass(frozen=True)
class Reference:
    domain: str  # "docker.io", "127.0.0.1:5000"
    path: str  # "library/busybox"
    tag: str | None  # "latest" unless a digest was given alone
    digest: str | None  # "sha256:..."

    @property
    def repository(self) -> str:
        """The fully qualified name without tag/digest: docker.io/library/busybox."""
        return f"{self.domain}/{self.path}"

    @property
    def familiar_name(self) -> str:
        """The short form Docker prints: busybox, user/app, 127.0.0.1:5000/app."""
        if self.domain == DOCKER_HUB:
            return self.path.removeprefix("library/")
        return self.repository

    @property
    def manifest_ref(self) -> str:
        """What goes after /manifests/: the digest when pinned, else the tag."""
        return self.digest or self.tag or "latest"

    def __str__(self) -> str:
        out = self.repository
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out

    def familiar(self) -> str:
        out = self.familiar_name
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out


def parse(ref: str, *, default_tag: str | None = "latest") -> Reference:
    """`busybox` -> docker.io/library/busybox:latest; `host:5000/a/b@sha256:..` keeps its digest, no tag."""
    text = ref.strip()
    if not text or text != ref or any(c.isspace() for c in text):
        raise InvalidParameter(f"invalid reference format: {ref!r}")
    name, _, digest = text.partition("@")
    if digest and not _DIGEST.match(digest):
        raise InvalidParameter(f"invalid reference format: {ref!r} (bad digest)")
    tag: str | None = None
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1 :]
        if not _TAG.match(tag):
            raise InvalidParameter(f"invalid reference format: {ref!r} (bad tag)")
    first, _, rest = name.partition("/")
    # Docker's rule: the first component is a host if it looks like one (dot, port, localhost, capitals).
    if rest and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        domain, path = first, rest
    else:
        domain, path = DOCKER_HUB, name
    if domain in _LEGACY_HUB:
        domain = DOCKER_HUB
    if domain == DOCKER_HUB and "/" not in path:
        path = f"library/{path}"
    if not all(_PATH_COMPONENT.match(part) for part in path.split("/")):
        raise InvalidParameter(
            f"invalid reference format: repository name ({path}) must be lowercase alphanumeric components"
        )
    if tag is None and not digest:
        tag = default_tag
    return Reference(domain=domain, path=path, tag=tag, digest=digest or None)
