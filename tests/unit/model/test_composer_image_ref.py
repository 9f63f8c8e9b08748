"""composer's one image-reference parser: registry ports, tags and digests are told apart."""

from __future__ import annotations

import pytest

from composer.image_ops import split_ref
from composer.reference import ImageRef, parse_image_ref

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("busybox", ImageRef("busybox", None, None)),
        ("busybox:1.36", ImageRef("busybox", "1.36", None)),
        ("registry:5000/app", ImageRef("registry:5000/app", None, None)),
        ("registry:5000/team/app:2", ImageRef("registry:5000/team/app", "2", None)),
        (f"busybox@{DIGEST}", ImageRef("busybox", None, DIGEST)),
        (f"registry:5000/app:1@{DIGEST}", ImageRef("registry:5000/app", "1", DIGEST)),
    ],
)
def test_parse(ref: str, expected: ImageRef) -> None:
    assert parse_image_ref(ref) == expected


def test_the_pull_tag_prefers_the_digest() -> None:
    assert parse_image_ref(f"busybox@{DIGEST}").tag_or_digest == DIGEST
    assert parse_image_ref("registry:5000/app").tag_or_digest == "latest"


def test_split_ref_keeps_a_digest_in_the_name() -> None:
    assert split_ref(f"busybox@{DIGEST}") == (f"busybox@{DIGEST}", "")
    assert split_ref("host:5000/app") == ("host:5000/app", "latest")
    assert split_ref("host:5000/app:1") == ("host:5000/app", "1")
