"""Image references as composer reads them: `[registry[:port]/]path[:tag][@digest]`. The one parser of the
composer side (the engine has its own, `engine.images.reference`, behind the API).

    parse_image_ref("registry:5000/app:1")     -> ImageRef("registry:5000/app", tag="1", digest=None)
    parse_image_ref("busybox@sha256:ab...")    -> ImageRef("busybox", tag=None, digest="sha256:ab...")
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ImageRef:
    """An image reference split into repository, tag and digest."""

    repository: str  # with the registry host (and port) when there is one
    tag: str | None
    digest: str | None

    @property
    def tag_or_digest(self) -> str:
        """What the Engine API's `tag` parameter takes for a pull: the digest, else the tag, else latest."""
        return self.digest or self.tag or "latest"


def parse_image_ref(ref: str) -> ImageRef:
    name, at, digest = ref.partition("@")
    repository, tag = name, None
    last = name.rsplit("/", 1)[-1]  # a registry's port is before the last `/`, a tag after it
    if ":" in last:
        repository, _, tag = name.rpartition(":")
    return ImageRef(repository, tag or None, digest if at else None)
