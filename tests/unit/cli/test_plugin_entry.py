"""composer.dockercli.plugin: the docker CLI's command line for a plugin becomes composer's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from composer.dockercli import plugin
from composer.errors import ComposerError


def test_global_flags_become_composer_options_and_environment(tmp_path: Path) -> None:
    run = plugin.translate(["-H", "unix:///e.sock", "--debug", "compose", "-f", "x.yaml", "up", "-d"])
    assert run.argv == ["--host", "unix:///e.sock", "--debug", "-f", "x.yaml", "up", "-d"]
    assert run.environ == {}
    run = plugin.translate(["--context=remote", "--config", str(tmp_path), "-l", "info", "compose", "ps"])
    assert run.argv == ["--context", "remote", "ps"]
    assert run.environ == {"DOCKER_CONFIG": str(tmp_path)}
    certs = tmp_path / "certs"
    run = plugin.translate(["--tlsverify", "--tlscacert", f"{certs}/ca.pem", "--tlscert", f"{certs}/cert.pem",
                            "--tlskey", f"{certs}/key.pem", "-H", "tcp://h:2376", "compose", "ls"])
    assert run.environ == {"DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(certs)}
    # what follows `compose` is composer's, even when it looks like a docker flag
    assert plugin.translate(["compose", "--context", "x"]).argv == ["--context", "x"]


def test_bad_command_lines_are_one_line_errors() -> None:
    with pytest.raises(ComposerError, match="unknown docker CLI flag before 'compose': --bogus"):
        plugin.translate(["--bogus", "compose", "ps"])
    with pytest.raises(ComposerError, match="not run as `docker compose`"):
        plugin.translate(["-H", "compose"])
    with pytest.raises(ComposerError, match="not run as `docker compose`"):
        plugin.translate(["ps"])
    with pytest.raises(ComposerError, match="in one directory"):
        plugin.translate(["--tlscacert", "/a/ca.pem", "--tlscert", "/b/cert.pem", "compose", "ps"])


def test_metadata_answer(capsys: pytest.CaptureFixture[str]) -> None:
    assert plugin.main(["docker-cli-plugin-metadata"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["SchemaVersion"] == "0.1.0" and answer["Vendor"] == "composer"
    assert answer["Version"].startswith("v")


def test_install_refuses_a_plugin_it_did_not_write(tmp_path: Path) -> None:
    env = {"DOCKER_CONFIG": str(tmp_path)}
    foreign = tmp_path / "cli-plugins" / "docker-compose"
    foreign.parent.mkdir()
    foreign.write_text("#!/bin/sh\necho the real compose\n")
    with pytest.raises(ComposerError, match="exists and is not composer's"):
        plugin.install(env)
    with pytest.raises(ComposerError, match="not composer's: left in place"):
        plugin.uninstall(env)
    assert plugin.install(env, force=True) == foreign
    assert foreign.stat().st_mode & 0o777 == 0o755
    assert "-m composer.dockercli.plugin" in foreign.read_text()
    assert plugin.uninstall(env) == foreign and not foreign.exists()
