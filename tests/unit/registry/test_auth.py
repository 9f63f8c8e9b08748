from __future__ import annotations

import base64
import json
import os
import textwrap
from pathlib import Path

import pytest

from engine.errors import InvalidParameter
from engine.registry.auth import Credentials, TokenCache, parse_challenges
from engine.registry.credentials import decode_registry_auth, load_config_credentials


def test_bearer_challenge_with_quoted_scope_containing_commas() -> None:
    [ch] = parse_challenges(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
        'scope="repository:library/busybox:pull,push"'
    )
    assert ch.scheme == "bearer"
    assert ch.realm == "https://auth.docker.io/token"
    assert ch.params["service"] == "registry.docker.io"
    assert ch.params["scope"] == "repository:library/busybox:pull,push"


def test_several_challenges_tokens_and_escapes() -> None:
    chs = parse_challenges(
        'Basic realm="a \\"quoted\\" realm", Bearer realm=https://h/t, error=invalid_token'
    )
    assert [c.scheme for c in chs] == ["basic", "bearer"]
    assert chs[0].realm == 'a "quoted" realm'
    assert chs[1].params == {"realm": "https://h/t", "error": "invalid_token"}


def test_empty_challenge() -> None:
    assert parse_challenges("") == []


def _b64url(obj: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


def test_x_registry_auth_username_password_and_auth_field() -> None:
    creds = decode_registry_auth(_b64url({"username": "u", "password": "p", "serveraddress": "h"}))
    assert creds == Credentials("u", "p")
    auth = base64.b64encode(b"joe:s3cr:et").decode()
    assert decode_registry_auth(_b64url({"auth": auth})) == Credentials("joe", "s3cr:et")
    assert decode_registry_auth(_b64url({"identitytoken": "tok"})) == Credentials(identity_token="tok")
    # field names match case-insensitively, as Go's encoding/json does for dockerd (docker-py forwards a
    # credential helper's answer as {"Username", "Password", "ServerAddress"})
    helper_style = {"ServerAddress": "h", "Username": "alice", "Password": "pw"}
    assert decode_registry_auth(_b64url(helper_style)) == Credentials("alice", "pw")


def test_x_registry_auth_empty_and_invalid() -> None:
    assert decode_registry_auth("") is None
    assert decode_registry_auth("e30=") is None
    assert decode_registry_auth(_b64url({})) is None
    with pytest.raises(InvalidParameter, match="X-Registry-Auth"):
        decode_registry_auth("%%%not-base64")


def test_config_json_auths(tmp_path: Path) -> None:
    cfg = tmp_path / "config.json"
    cfg.write_text(
        json.dumps(
            {
                "auths": {
                    "https://index.docker.io/v1/": {"auth": base64.b64encode(b"hubuser:hubpw").decode()},
                    "127.0.0.1:5000": {"auth": base64.b64encode(b"alice:pw").decode()},
                    "https://reg.example:443": {"username": "bob", "password": "pw2"},
                }
            }
        )
    )
    assert load_config_credentials("docker.io", cfg) == Credentials("hubuser", "hubpw")
    assert load_config_credentials("127.0.0.1:5000", cfg) == Credentials("alice", "pw")
    assert load_config_credentials("reg.example:443", cfg) == Credentials("bob", "pw2")
    assert load_config_credentials("other:1", cfg) is None
    assert load_config_credentials("docker.io", tmp_path / "missing.json") is None


def test_config_json_bad_auth_is_one_line_error(tmp_path: Path) -> None:
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"auths": {"h:1": {"auth": base64.b64encode(b"nocolon").decode()}}}))
    with pytest.raises(InvalidParameter, match="expected base64 of user:password"):
        load_config_credentials("h:1", cfg)


def test_credentials_repr_hides_password() -> None:
    assert "secret" not in repr(Credentials("u", "secret"))
    assert Credentials("u", "p").basic_header() == "Basic " + base64.b64encode(b"u:p").decode()


def test_token_cache_per_scope() -> None:
    cache = TokenCache()
    key_pull = ("https://r/t", "svc", "repository:a:pull", "")
    key_push = ("https://r/t", "svc", "repository:a:pull,push", "")
    cache.put(key_pull, "T1", 300)
    assert cache.get(key_pull) == "T1"
    assert cache.get(key_push) is None


def _helper(bin_dir: Path, name: str, script: str) -> None:
    path = bin_dir / f"docker-credential-{name}"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(0o755)


def test_credential_helpers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A real helper program speaks the docker-credential protocol: server on stdin, JSON on stdout."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _helper(
        bin_dir,
        "fake",
        textwrap.dedent("""\
        read server
        case "$server" in
          127.0.0.1:5000) echo '{"ServerURL":"127.0.0.1:5000","Username":"carol","Secret":"pw"}';;
          https://index.docker.io/v1/) echo '{"Username":"<token>","Secret":"refresh"}';;
          *) echo "credentials not found in native keychain"; exit 1;;
        esac
        """),
    )
    _helper(bin_dir, "broken", 'echo "boom"; exit 3\n')
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    cfg = tmp_path / "config.json"
    cfg.write_text(
        json.dumps(
            {
                "credsStore": "fake",
                "credHelpers": {"b.example": "broken"},
                "auths": {"127.0.0.1:5000": {"auth": base64.b64encode(b"not:used").decode()}},
            }
        )
    )
    assert load_config_credentials("127.0.0.1:5000", cfg) == Credentials("carol", "pw")
    assert load_config_credentials("docker.io", cfg) == Credentials(identity_token="refresh")
    assert load_config_credentials("other:1", cfg) is None
    with pytest.raises(InvalidParameter, match="docker-credential-broken failed: boom"):
        load_config_credentials("b.example", cfg)
    cfg.write_text(json.dumps({"credsStore": "absent"}))
    with pytest.raises(InvalidParameter, match="docker-credential-absent not found in PATH"):
        load_config_credentials("x:1", cfg)
