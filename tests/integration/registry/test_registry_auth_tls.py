"""HTTPS with a test CA and htpasswd Basic auth: credentials from config.json, X-Registry-Auth, login."""

from __future__ import annotations

import base64
import json
import shutil
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine.images.store import ImageStore
from engine.registry import Credentials, RegistryClient, RegistryOptions
from engine.registry.credentials import decode_registry_auth
from engine.registry.endpoints import Endpoint
from engine.registry.errors import Unauthorized
from tests.integration.registry.helpers import USERS, busybox_image, statuses
from tests.support.registry import Registry, TLSFiles

ALICE = Credentials("alice", USERS["alice"])


def test_push_and_pull_need_credentials(
    auth_registry: Registry,
    make_store: Callable[[str], ImageStore],
    busybox_tar: bytes,
    options: RegistryOptions,
    staging: Path,
) -> None:
    store = make_store("src")
    ref = f"{auth_registry.host}/private/busybox:1"
    image = busybox_image(store, busybox_tar, ref)
    client = RegistryClient(store, options, staging_dir=staging)
    with pytest.raises(Unauthorized, match="no basic auth credentials"):
        client.push(ref)
    with pytest.raises(Unauthorized):
        client.push(ref, credentials=Credentials("alice", "wrong"))
    digest = client.push(ref, credentials=ALICE)

    clean = make_store("clean")
    with pytest.raises(Unauthorized):
        RegistryClient(clean, options, staging_dir=staging).pull(ref)
    msgs: list[dict[str, Any]] = []
    pulled = RegistryClient(clean, options, staging_dir=staging).pull(
        ref, credentials=ALICE, progress=msgs.append
    )
    assert pulled.id == image.id
    assert f"Digest: {digest}" in statuses(msgs)


def test_credentials_from_docker_config_json(
    auth_registry: Registry,
    make_store: Callable[[str], ImageStore],
    busybox_tar: bytes,
    options: RegistryOptions,
    staging: Path,
) -> None:
    assert options.config_path is not None
    auth = base64.b64encode(b"alice:" + USERS["alice"].encode()).decode()
    options.config_path.write_text(json.dumps({"auths": {f"https://{auth_registry.host}": {"auth": auth}}}))
    store = make_store("cfg")
    ref = f"{auth_registry.host}/cfg/busybox:latest"
    image = busybox_image(store, busybox_tar, ref)
    client = RegistryClient(store, options, staging_dir=staging)
    client.push(ref)
    assert RegistryClient(make_store("cfg2"), options, staging_dir=staging).pull(ref).id == image.id


def test_x_registry_auth_header_credentials(
    auth_registry: Registry,
    make_store: Callable[[str], ImageStore],
    busybox_tar: bytes,
    options: RegistryOptions,
    staging: Path,
) -> None:
    header = base64.urlsafe_b64encode(
        json.dumps(
            {"username": "alice", "password": USERS["alice"], "serveraddress": auth_registry.host}
        ).encode()
    ).decode()
    creds = decode_registry_auth(header)
    store = make_store("hdr")
    ref = f"{auth_registry.host}/hdr/busybox:latest"
    busybox_image(store, busybox_tar, ref)
    RegistryClient(store, options, staging_dir=staging).push(ref, credentials=creds)


def test_login(auth_registry: Registry, options: RegistryOptions) -> None:
    client = RegistryClient(None, options)
    assert client.login(auth_registry.host, "alice", USERS["alice"]) == {
        "Status": "Login Succeeded",
        "IdentityToken": "",
    }
    with pytest.raises(Unauthorized, match="incorrect username or password"):
        client.login(f"https://{auth_registry.host}", "alice", "nope")


def test_login_to_open_registry_succeeds(registry: Registry, options: RegistryOptions) -> None:
    assert RegistryClient(None, options).login(registry.host, "anyone", "x")["Status"] == "Login Succeeded"


def test_tls_is_verified_against_the_certs_d_ca(
    auth_registry: Registry,
    tls_files: TLSFiles,
    options: RegistryOptions,
) -> None:
    client = RegistryClient(None, options)
    verified = Endpoint(url=auth_registry.url, host=auth_registry.host, ca_files=(tls_files.ca_cert,))
    assert client.ping(verified) == 401
    unknown_ca = Endpoint(url=auth_registry.url, host=auth_registry.host)
    with pytest.raises(ssl.SSLCertVerificationError):
        client.ping(unknown_ca)
    # certs.d/<host:port>/ca.crt is where endpoints_for finds it.
    d = options.certs_dir / auth_registry.host
    d.mkdir()
    shutil.copy(tls_files.ca_cert, d / "ca.crt")
    from engine.registry.endpoints import endpoints_for

    first = endpoints_for(auth_registry.host, options)[0]
    assert first.url == auth_registry.url and first.ca_files == (d / "ca.crt",)
    assert client.ping(Endpoint(first.url, first.host, ca_files=first.ca_files)) == 401
