"""The Bearer token flow against docker-registry configured for token auth, with a test token server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from engine.images.store import ImageStore
from engine.registry import Credentials, RegistryClient, RegistryOptions
from engine.registry.errors import Unauthorized
from tests.integration.registry.helpers import USERS, busybox_image
from tests.support.registry import Registry, TokenServer, running_registry, token_server

ALICE = Credentials("alice", USERS["alice"])


@pytest.fixture
def tokens(tmp_path: Path) -> Iterator[TokenServer]:
    with token_server(tmp_path / "token", USERS) as server:
        yield server


@pytest.fixture
def bearer_registry(tmp_path: Path, tokens: TokenServer) -> Iterator[Registry]:
    with running_registry(tmp_path / "bearer-registry", token=tokens.registry_config()) as reg:
        yield reg


def test_push_with_login_then_anonymous_pull(
    bearer_registry: Registry,
    tokens: TokenServer,
    make_store: Callable[[str], ImageStore],
    busybox_tar: bytes,
    options: RegistryOptions,
    staging: Path,
) -> None:
    store = make_store("src")
    ref = f"{bearer_registry.host}/bearer/busybox:latest"
    image = busybox_image(store, busybox_tar, ref)
    client = RegistryClient(store, options, staging_dir=staging)
    client.push(ref, credentials=ALICE)
    push_requests = [r for r in tokens.requests if r["user"] == "alice"]
    assert push_requests and all(r["scope"] == "repository:bearer/busybox:pull,push" for r in push_requests)
    assert push_requests[0]["account"] == "alice"
    # One token for the scope, reused by every request of the push (HEAD, POST, PUT, manifest).
    assert len(push_requests) == 1

    tokens.requests.clear()
    pulled = RegistryClient(make_store("dst"), options, staging_dir=staging).pull(ref)
    assert pulled.id == image.id
    assert tokens.requests == [
        {"scope": "repository:bearer/busybox:pull", "user": "", "account": "", "how": "anonymous"}
    ]


def test_anonymous_push_is_refused(
    bearer_registry: Registry,
    make_store: Callable[[str], ImageStore],
    busybox_tar: bytes,
    options: RegistryOptions,
    staging: Path,
) -> None:
    store = make_store("anon")
    ref = f"{bearer_registry.host}/bearer/anon:latest"
    busybox_image(store, busybox_tar, ref)
    with pytest.raises(Unauthorized):
        RegistryClient(store, options, staging_dir=staging).push(ref)


def test_bearer_login(bearer_registry: Registry, tokens: TokenServer, options: RegistryOptions) -> None:
    client = RegistryClient(None, options)
    assert client.login(bearer_registry.host, "alice", USERS["alice"])["Status"] == "Login Succeeded"
    with pytest.raises(Unauthorized, match="incorrect username or password"):
        client.login(bearer_registry.host, "alice", "bad")
    assert tokens.requests[-1]["user"] == "!denied"


def test_identity_token_uses_the_refresh_token_grant(
    bearer_registry: Registry,
    tokens: TokenServer,
    make_store: Callable[[str], ImageStore],
    busybox_tar: bytes,
    options: RegistryOptions,
    staging: Path,
) -> None:
    store = make_store("idtoken")
    ref = f"{bearer_registry.host}/bearer/idtoken:latest"
    busybox_image(store, busybox_tar, ref)
    RegistryClient(store, options, staging_dir=staging).push(
        ref, credentials=Credentials(identity_token="refresh:alice")
    )
    assert [r["how"] for r in tokens.requests] == ["refresh_token"]
    with pytest.raises(Unauthorized):
        RegistryClient(store, options, staging_dir=staging).push(
            ref, credentials=Credentials(identity_token="refresh:mallory")
        )
