"""References as the registry client uses them, on top of engine.images.reference (Docker's normalization)."""

from __future__ import annotations

from engine.images.reference import DEFAULT_DOMAIN, Reference, parse_tagged
from engine.images.reference import parse as parse_untagged

DOCKER_HUB = DEFAULT_DOMAIN

__all__ = ["DOCKER_HUB", "Reference", "manifest_ref", "parse"]


def parse(ref: str, *, default_tag: bool = True) -> Reference:
    """`busybox` -> docker.io/library/busybox:latest; a digest reference keeps its digest and gets no tag."""
    return parse_tagged(ref) if default_tag else parse_untagged(ref)


def manifest_ref(ref: Reference) -> str:
    """What goes after /manifests/: the digest when the reference is pinned, else the tag."""
    return ref.digest or ref.tag or "latest"
