from __future__ import annotations

import pytest

from engine.errors import InvalidParameter
from engine.images import reference

DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("given", "normalized", "familiar"),
    [
        ("busybox", "docker.io/library/busybox:latest", "busybox:latest"),
        ("busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"),
        ("library/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
        ("docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
        ("index.docker.io/library/busybox:x", "docker.io/library/busybox:x", "busybox:x"),
        ("user/app", "docker.io/user/app:latest", "user/app:latest"),
        ("user/app/sub:v1", "docker.io/user/app/sub:v1", "user/app/sub:v1"),
        ("localhost/x", "localhost/x:latest", "localhost/x:latest"),
        ("localhost:5000/x", "localhost:5000/x:latest", "localhost:5000/x:latest"),
        ("127.0.0.1:5000/a/b:tag", "127.0.0.1:5000/a/b:tag", "127.0.0.1:5000/a/b:tag"),
        ("registry.example.com/team/app", "registry.example.com/team/app:latest",
         "registry.example.com/team/app:latest"),
        ("[::1]:5000/x:y", "[::1]:5000/x:y", "[::1]:5000/x:y"),
        (f"busybox@{DIGEST}", f"docker.io/library/busybox@{DIGEST}", f"busybox@{DIGEST}"),
        (f"busybox:1@{DIGEST}", f"docker.io/library/busybox:1@{DIGEST}", f"busybox:1@{DIGEST}"),
        ("a_b-c__d/e.f---g", "docker.io/a_b-c__d/e.f---g:latest", "a_b-c__d/e.f---g:latest"),
    ],
)
def test_normalize_and_familiar(given: str, normalized: str, familiar: str) -> None:
    assert reference.normalize(given) == normalized
    assert reference.familiar(normalized) == familiar


@pytest.mark.parametrize(
    "bad",
    ["", ":tag", "busybox:", "a//b", "-abc", "abc-", "busybox:-bad", "busybox@sha256:abc", "a:b:c",
     "UPPER/x:y:z", "x" * 256 + ":1", "busy box", "a/.b", "bad@tag@x", "busybox:" + "t" * 129],
)
def test_invalid_references(bad: str) -> None:
    with pytest.raises(InvalidParameter) as info:
        reference.parse(bad)
    assert "invalid reference format" in info.value.message or "must not be more than" in info.value.message


def test_uppercase_repository_message() -> None:
    with pytest.raises(InvalidParameter) as info:
        reference.parse("Busybox")
    expected = "invalid reference format: repository name (library/Busybox) must be lowercase"
    assert info.value.message == expected


def test_uppercase_first_component_is_a_domain() -> None:
    # Docker treats an upper-case first component as a registry host
    assert reference.normalize("Example/app") == "Example/app:latest"


def test_64_hex_is_not_a_name() -> None:
    with pytest.raises(InvalidParameter, match="cannot specify 64-byte hexadecimal strings"):
        reference.parse("f" * 64)


def test_reference_parts() -> None:
    ref = reference.parse_tagged("localhost:5000/team/app")
    assert (ref.domain, ref.path, ref.tag, ref.digest) == ("localhost:5000", "team/app", "latest", None)
    assert ref.name == "localhost:5000/team/app"
    assert str(ref.with_digest(DIGEST)) == f"localhost:5000/team/app@{DIGEST}"
