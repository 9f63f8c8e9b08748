"""Remote-access flags as dockerd takes them: --tls/--tlsverify and their files (flags or daemon.json,
defaulting to DOCKER_CERT_PATH), tcp on a non-loopback address only with --tlsverify, default ports, and
-G/--group."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.config import DEFAULT_GROUP, ConfigError, parse


@pytest.fixture
def certs(tmp_path: Path) -> Path:
    for name in ("ca.pem", "cert.pem", "key.pem"):
        (tmp_path / name).write_text("x")
    return tmp_path


def test_non_loopback_tcp_needs_tlsverify(certs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_CERT_PATH", str(certs))
    for flags in ([], ["--tls"]):
        with pytest.raises(ConfigError, match="non-loopback address needs --tlsverify"):
            parse(["-H", "tcp://0.0.0.0:2376", *flags])
    cfg = parse(["-H", "tcp://0.0.0.0:2376", "--tlsverify"])
    assert cfg.tls is not None and cfg.tls.verify and cfg.tls.ca == certs / "ca.pem"
    assert cfg.tls.cert == certs / "cert.pem" and cfg.tls.key == certs / "key.pem"
    assert parse(["-H", "tcp://127.0.0.1:2375"]).tls is None  # loopback: plain HTTP allowed, as before


def test_default_ports_follow_tls(certs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_CERT_PATH", str(certs))
    assert parse(["-H", "tcp://127.0.0.1"]).tcp_addresses() == [("127.0.0.1", 2375)]
    assert parse(["-H", "tcp://127.0.0.1", "--tls"]).tcp_addresses() == [("127.0.0.1", 2376)]
    assert parse(["-H", "tcp://[::1]:7000", "--tls"]).tcp_addresses() == [("::1", 7000)]


def test_daemon_json_keys_and_flags_win(certs: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "server.pem").write_text("x")
    conf = tmp_path / "daemon.json"
    conf.write_text(json.dumps({
        "tlsverify": True, "tlscacert": str(certs / "ca.pem"), "tlscert": str(certs / "cert.pem"),
        "tlskey": str(certs / "key.pem"), "hosts": ["tcp://192.0.2.1:2376"], "group": "staff",
    }))  # fmt: skip
    cfg = parse(["--config-file", str(conf), "--tlscert", str(other / "server.pem")])
    assert cfg.tls is not None and cfg.tls.verify and cfg.tls.cert == other / "server.pem"
    assert cfg.group == "staff" and cfg.group_explicit


def test_missing_tls_files_are_one_line_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_CERT_PATH", str(tmp_path))
    with pytest.raises(ConfigError, match=r"could not read TLS certificate .*cert.pem: no such file"):
        parse(["--tlsverify"])


def test_socket_group_defaults() -> None:
    cfg = parse([])
    assert (cfg.group, cfg.group_explicit) == (DEFAULT_GROUP, False)
    cfg = parse(["-G", "wheel"])
    assert (cfg.group, cfg.group_explicit) == ("wheel", True)
