from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import InvalidParameter
from engine.registry.endpoints import RegistryOptions, endpoints_for, is_insecure
from engine.registry.reference import manifest_ref, parse


@pytest.mark.parametrize(
    ("ref", "domain", "path", "tag", "digest"),
    [
        ("busybox", "docker.io", "library/busybox", "latest", None),
        ("busybox:1.36", "docker.io", "library/busybox", "1.36", None),
        ("user/app", "docker.io", "user/app", "latest", None),
        ("index.docker.io/library/busybox", "docker.io", "library/busybox", "latest", None),
        ("127.0.0.1:5000/team/app:v1", "127.0.0.1:5000", "team/app", "v1", None),
        ("localhost/app", "localhost", "app", "latest", None),
        ("reg.example/app@sha256:" + "a" * 64, "reg.example", "app", None, "sha256:" + "a" * 64),
    ],
)
def test_reference_split(ref: str, domain: str, path: str, tag: str | None, digest: str | None) -> None:
    r = parse(ref)
    assert (r.domain, r.path, r.tag, r.digest) == (domain, path, tag, digest)


def test_familiar_and_manifest_ref() -> None:
    assert parse("busybox").familiar() == "busybox:latest"
    assert str(parse("busybox")) == "docker.io/library/busybox:latest"
    pinned = parse("busybox@sha256:" + "b" * 64)
    assert manifest_ref(pinned) == "sha256:" + "b" * 64


@pytest.mark.parametrize("bad", ["", "Busybox", "busybox:bad tag", "a@sha256:short", " busybox"])
def test_bad_references(bad: str) -> None:
    with pytest.raises(InvalidParameter, match="invalid reference format"):
        parse(bad)


def test_hub_goes_through_mirrors_first() -> None:
    opts = RegistryOptions(mirrors=("http://127.0.0.1:5000/",))
    eps = endpoints_for("docker.io", opts)
    assert [e.url for e in eps] == ["http://127.0.0.1:5000", "https://registry-1.docker.io"]
    assert eps[0].mirror and not eps[1].mirror
    assert all(e.host == "docker.io" for e in eps)


def test_loopback_and_listed_registries_are_insecure() -> None:
    opts = RegistryOptions(insecure=("myreg:5000", "10.1.0.0/16"))
    assert is_insecure("127.0.0.1:5000", opts)
    assert is_insecure("localhost:5000", opts)
    assert is_insecure("myreg:5000", opts)
    assert is_insecure("10.1.2.3:443", opts)
    assert not is_insecure("10.2.0.1", opts)
    assert not is_insecure("reg.example", opts)
    assert [e.url for e in endpoints_for("myreg:5000", opts)] == ["https://myreg:5000", "http://myreg:5000"]
    assert not endpoints_for("myreg:5000", opts)[0].tls_verify
    assert [e.url for e in endpoints_for("reg.example", opts)] == ["https://reg.example"]


def test_certs_d_ca_and_client_cert(tmp_path: Path) -> None:
    d = tmp_path / "reg.example:8443"
    d.mkdir()
    (d / "ca.crt").write_text("x")
    (d / "client.cert").write_text("x")
    (d / "client.key").write_text("x")
    [ep] = endpoints_for("reg.example:8443", RegistryOptions(certs_dir=tmp_path))
    assert ep.ca_files == (d / "ca.crt",)
    assert ep.client_cert == (d / "client.cert", d / "client.key")
    assert ep.tls_verify


def test_bad_options() -> None:
    with pytest.raises(InvalidParameter, match="invalid mirror"):
        RegistryOptions(mirrors=("127.0.0.1:5000",))
    with pytest.raises(InvalidParameter, match="should not contain"):
        RegistryOptions(insecure=("http://x",))


def test_options_from_daemon_json(tmp_path: Path) -> None:
    opts = RegistryOptions.from_daemon_config(
        {
            "registry-mirrors": ["http://127.0.0.1:5000"],
            "insecure-registries": ["myreg:5000"],
            "max-concurrent-downloads": 6,
            "max-download-attempts": 2,
            "debug": True,
        },
        certs_dir=tmp_path,
    )
    assert opts.mirrors == ("http://127.0.0.1:5000",) and opts.insecure == ("myreg:5000",)
    assert (opts.max_concurrent_downloads, opts.max_concurrent_uploads, opts.max_retries) == (6, 5, 2)
    assert opts.certs_dir == tmp_path
    with pytest.raises(InvalidParameter, match="max-concurrent-uploads must be a positive integer"):
        RegistryOptions.from_daemon_config({"max-concurrent-uploads": 0})
    with pytest.raises(InvalidParameter, match="registry-mirrors must be a list of strings"):
        RegistryOptions.from_daemon_config({"registry-mirrors": "http://x"})
