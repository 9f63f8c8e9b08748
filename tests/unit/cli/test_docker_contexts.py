"""Docker contexts as the docker CLI selects and stores them (composer.dockercli.contexts), and the
endpoint composer.client picks from them."""

from __future__ import annotations

import hashlib
import json
import shutil
import ssl
from pathlib import Path

import pytest

from composer.client import make_api
from composer.dockercli import config, contexts
from composer.errors import ComposerError
from composer.session import resolve_endpoint
from composer.transport import _tls_context
from tests.support.registry import make_tls


def store(tmp_path: Path, name: str, host: str, *, skip_verify: bool = False) -> Path:
    """A context written as `docker context create` writes it (the layout is checked against the real CLI
    in tests/e2e/test_docker_cli_config.py)."""
    meta = tmp_path / "contexts" / "meta" / hashlib.sha256(name.encode()).hexdigest() / "meta.json"
    meta.parent.mkdir(parents=True)
    meta.write_text(json.dumps({"Name": name, "Metadata": {},
                                "Endpoints": {"docker": {"Host": host, "SkipTLSVerify": skip_verify}}}))
    return meta


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"DOCKER_CONFIG": str(tmp_path), "COMPOSER_ENGINE_ROOT": str(tmp_path / "engine")}


def test_selection_follows_the_docker_cli(tmp_path: Path, env: dict[str, str]) -> None:
    assert contexts.selected_name(None, None, env) == "default"
    (tmp_path / "config.json").write_text('{"currentContext": "cur", "auths": {}}')
    assert contexts.selected_name(None, None, env) == "cur"
    assert contexts.selected_name(None, None, {**env, "DOCKER_CONTEXT": "envctx"}) == "envctx"
    # DOCKER_HOST beats DOCKER_CONTEXT and currentContext; -H beats everything but is refused with --context
    both = {**env, "DOCKER_CONTEXT": "e", "DOCKER_HOST": "tcp://h:1"}
    assert contexts.selected_name(None, None, both) is None
    assert contexts.selected_name(None, "unix:///x", env) is None
    assert contexts.selected_name("flag", None, {**env, "DOCKER_HOST": "tcp://h:1"}) == "flag"
    with pytest.raises(ComposerError, match="^conflicting options: cannot specify both --host and --context"):
        contexts.selected_name("flag", "unix:///x", env)


def test_endpoint_of_each_source(tmp_path: Path, env: dict[str, str]) -> None:
    store(tmp_path, "remote", "tcp://10.1.2.3:2375")
    embedded = f"unix://{tmp_path}/engine/e.sock"
    assert resolve_endpoint(None, None, env)[:2] == (embedded, True)
    assert resolve_endpoint(None, "remote", env)[:2] == ("tcp://10.1.2.3:2375", False)
    by_env = {**env, "DOCKER_CONTEXT": "remote"}
    assert resolve_endpoint(None, None, by_env)[:2] == ("tcp://10.1.2.3:2375", False)
    assert resolve_endpoint("unix:///h.sock", None, {**env, "DOCKER_CONTEXT": "remote"})[:2] == (
        "unix:///h.sock", False)
    # a context naming the embedded engine's socket still starts it on demand
    store(tmp_path, "composer", embedded)
    assert resolve_endpoint(None, "composer", env)[:2] == (embedded, True)


def test_a_missing_context_is_the_docker_cli_error(tmp_path: Path, env: dict[str, str]) -> None:
    (tmp_path / "config.json").write_text('{"currentContext": "nope"}')
    digest = hashlib.sha256(b"nope").hexdigest()
    with pytest.raises(ComposerError) as err:
        resolve_endpoint(None, None, env)
    assert err.value.message == (
        'Failed to initialize: unable to resolve docker endpoint: context "nope": context not found: '
        f"open {tmp_path}/contexts/meta/{digest}/meta.json: no such file or directory"
    )
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ComposerError, match=r"config.json: invalid JSON"):
        resolve_endpoint(None, None, env)


def test_tls_material_of_a_context_reaches_the_client(tmp_path: Path, env: dict[str, str]) -> None:
    store(tmp_path, "secure", "tcp://127.0.0.1:2376")
    files = make_tls(tmp_path / "made")
    folder = contexts.tls_dir("secure", env)
    folder.mkdir(parents=True)
    # a CA alone cannot be handed to the Engine client: said, not ignored
    shutil.copy(files.ca_cert, folder / "ca.pem")
    with pytest.raises(ComposerError, match="without a client certificate and key"):
        resolve_endpoint(None, "secure", env)
    shutil.copy(files.cert, folder / "cert.pem")
    shutil.copy(files.key, folder / "key.pem")
    host, embedded, environ = resolve_endpoint(None, "secure", env)
    assert environ["DOCKER_CERT_PATH"] == str(folder) and environ["DOCKER_TLS_VERIFY"] == "1"
    api = make_api(host, environ)  # nothing is sent: nobody listens
    try:
        assert (api.endpoint.scheme, api.endpoint.address) == ("tls", "127.0.0.1:2376")
        tls = _tls_context(api.endpoint.environ)  # what each connection is wrapped with
        assert tls.verify_mode == ssl.CERT_REQUIRED and tls.check_hostname
        assert [c["subject"] for c in tls.get_ca_certs()] == [_subject(files.ca_cert)]  # that CA alone
    finally:
        api.close()


def _subject(pem: Path) -> tuple[tuple[tuple[str, str], ...], ...]:
    """A PEM certificate's subject as ssl reports it for loaded CAs."""
    der = ssl.PEM_cert_to_DER_cert(pem.read_text())
    ctx = ssl.create_default_context(cadata=der)
    return ctx.get_ca_certs()[0]["subject"]  # type: ignore[no-any-return]


def test_write_and_use_keep_the_rest_of_config_json(tmp_path: Path, env: dict[str, str]) -> None:
    (tmp_path / "config.json").write_text('{"auths": {"r.example": {"auth": "eDp5"}}, "credsStore": "x"}')
    path = contexts.write("composer", "unix:///run/composer/engine.sock", "composer embedded engine", env)
    assert json.loads(path.read_text()) == {
        "Name": "composer", "Metadata": {"Description": "composer embedded engine"},
        "Endpoints": {"docker": {"Host": "unix:///run/composer/engine.sock", "SkipTLSVerify": False}},
    }
    config.set_current_context(env, "composer")
    assert config.load(env) == {"auths": {"r.example": {"auth": "eDp5"}}, "credsStore": "x",
                                "currentContext": "composer"}
    config.set_current_context(env, "default")
    assert "currentContext" not in config.load(env)
    with pytest.raises(ComposerError, match="reserved"):
        contexts.write("default", "unix:///x", "", env)
