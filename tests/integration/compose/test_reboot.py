"""A server's power cut and reboot: with a project up (every restart policy, some services stopped by hand),
kill every container process, monitor and the engine at once, drop what a reboot drops (mounts, bridges,
nft table, cgroups, the exec root under /run), start the engine again: exactly the containers dockerd 20.10
brings back come back, with their networks, published ports and volumes, and `composer ps` shows the
project as before. Which ones dockerd brings back was measured on a private dockerd the same way:
always -> yes (stopped by hand too); unless-stopped -> yes unless stopped by hand; on-failure -> yes when
the last exit code is non-zero (a power cut records 255; a manual stop's 137 counts too), not after a
clean exit 0; no -> never."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.engine import EngineProcess, new_engine
from tests.support.powercut import power_cut
from tests.support.registry import free_port

pytestmark = pytest.mark.root

PROJECT = """
name: boot
services:
  web:
    image: busybox:latest
    command: httpd -f -p 80 -h /srv
    restart: always
    ports: ["127.0.0.1:{port}:80"]
    volumes: [site:/srv]
    networks: [front]
  always-stopped: {{image: busybox:latest, command: sleep 1000, restart: always}}
  unless: {{image: busybox:latest, command: sleep 1000, restart: unless-stopped, networks: [front]}}
  unless-stopped: {{image: busybox:latest, command: sleep 1000, restart: unless-stopped}}
  onfail: {{image: busybox:latest, command: sleep 1000, restart: on-failure}}
  onfail-stopped: {{image: busybox:latest, command: sleep 1000, restart: on-failure}}
  onfail-clean: {{image: busybox:latest, command: "true", restart: on-failure}}
  plain: {{image: busybox:latest, command: sleep 1000, restart: "no"}}
volumes:
  site: {{}}
networks:
  front: {{}}
"""
STOPPED_BY_HAND = ("always-stopped", "unless-stopped", "onfail-stopped")
BACK_AFTER_REBOOT = {
    "web": "running",
    "always-stopped": "running",
    "unless": "running",
    "unless-stopped": "exited",
    "onfail": "running",
    "onfail-stopped": "running",
    "onfail-clean": "exited",
    "plain": "exited",
}


@pytest.fixture
def engine() -> Iterator[EngineProcess]:
    eng = new_engine()
    try:
        eng.start()
        eng.import_busybox()
        yield eng
    finally:
        eng.cleanup()


def _composer(eng: EngineProcess, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "DOCKER_"))}
    env["DOCKER_HOST"] = eng.docker_host
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[3])  # this checkout's composer
    return subprocess.run(
        [sys.executable, "-m", "composer.cli.main", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _ps(eng: EngineProcess, cwd: Path) -> dict[str, dict[str, object]]:
    r = _composer(eng, cwd, "ps", "-a", "--format", "json")
    assert r.returncode == 0, r.stderr
    return {row["Service"]: row for row in map(json.loads, r.stdout.splitlines())}


def _get(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as resp:
        return str(resp.read().decode())


def _wait_for(what: str, check: object, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():  # type: ignore[operator]
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_reboot_brings_back_what_dockerd_would(engine: EngineProcess, tmp_path: Path) -> None:
    port = free_port()
    (tmp_path / "compose.yaml").write_text(PROJECT.format(port=port))
    up = _composer(engine, tmp_path, "up", "-d")
    assert up.returncode == 0, up.stderr
    wrote = _composer(engine, tmp_path, "exec", "web", "sh", "-c", "echo persisted > /srv/index.html")
    assert wrote.returncode == 0, wrote.stderr
    stop = _composer(engine, tmp_path, "stop", "-t", "1", *STOPPED_BY_HAND)
    assert stop.returncode == 0, stop.stderr
    _wait_for("onfail-clean to exit", lambda: _ps(engine, tmp_path)["onfail-clean"]["State"] == "exited")
    _wait_for("the published port", lambda: _get(port) == "persisted\n")
    before = _ps(engine, tmp_path)
    assert {s: r["State"] for s, r in before.items()} == {
        **{s: "running" for s in BACK_AFTER_REBOOT},
        **{s: "exited" for s in (*STOPPED_BY_HAND, "onfail-clean")},
    }

    power_cut(engine)
    with pytest.raises(OSError):
        _get(port)  # the port died with the machine
    engine.start()

    wanted = {s for s, st in BACK_AFTER_REBOOT.items() if st == "running"}
    _wait_for(
        "the restart policies",
        lambda: {s for s, r in _ps(engine, tmp_path).items() if r["State"] == "running"} == wanted,
    )
    time.sleep(1)  # nothing else comes back late (a restart that should not happen)
    after = _ps(engine, tmp_path)
    assert {s: r["State"] for s, r in after.items()} == BACK_AFTER_REBOOT
    # the same containers (ids, names, numbering), not new ones
    assert {s: (r["ID"], r["Name"]) for s, r in after.items()} == {
        s: (r["ID"], r["Name"]) for s, r in before.items()
    }
    # cut-off containers record dockerd's 255; the ones left down keep their own exit codes
    assert after["plain"]["ExitCode"] == 255
    assert after["onfail-clean"]["ExitCode"] == 0
    assert after["unless-stopped"]["ExitCode"] == 137

    # published port and volume: the site written before the cut is served on the same port again
    _wait_for("the published port after the reboot", lambda: _get(port) == "persisted\n")
    # the network and its DNS: the service name resolves to the container's new address
    web_ip = engine.json("GET", f"/containers/{after['web']['ID']}/json")["NetworkSettings"]["Networks"][
        "boot_front"
    ]["IPAddress"]
    look = _composer(engine, tmp_path, "exec", "unless", "nslookup", "web")
    assert look.returncode == 0 and web_ip in look.stdout, look.stdout + look.stderr
    fetch = _composer(engine, tmp_path, "exec", "unless", "wget", "-qO-", "http://web/")
    assert fetch.stdout == "persisted\n", fetch.stderr

    # nothing torn on disk: every state file parses, and no temp file of a half-done write is left
    state_files = [p for p in engine.data_root.rglob("*.json") if p.is_file()]
    assert len(state_files) > len(after)  # at least one record per container, plus networks and volumes
    for path in state_files:
        json.loads(path.read_bytes())
    assert not [p for p in engine.data_root.rglob("*.tmp*") if p.is_file()]
    # and the project converges without changes: `up -d` recreates nothing
    again = _composer(engine, tmp_path, "up", "-d")
    assert again.returncode == 0, again.stderr
    assert "Recreate" not in again.stderr and "Created" not in again.stderr, again.stderr
    assert _composer(engine, tmp_path, "down", "-v").returncode == 0
