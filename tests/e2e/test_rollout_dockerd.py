"""Start-first updates against a real dockerd (20.10, private; tests/support/dockerd.py): composer drives the
same replacement through the standard Engine API (create under Compose's temporary name, start, wait healthy,
stop and remove the old, rename), and a service with a fixed published port - which dockerd cannot hold for
two containers - is updated stop-first with a warning."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import dockerd
from tests.support.registry import free_port

pytestmark = [
    pytest.mark.root,
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("dockerd") is None, reason="dockerd is not installed"),
]

ROOT = Path(__file__).resolve().parents[2]
# address ranges of its own (bench/ and the other dockerd e2e test use 10.213-10.218)
BIP, POOL = "10.219.0.1/24", "base=10.220.0.0/16,size=24"

PROJECT = """
name: roll
services:
  web:
    image: busybox:latest
    init: true
    command: [sh, -c, 'mkdir -p /www && echo "$$VERSION" > /www/index.html && exec httpd -f -p 80 -h /www']
    environment: {{VERSION: "{version}"}}
    {ports}
    healthcheck:
      test: [CMD, wget, -q, -O, /dev/null, "http://127.0.0.1/"]
      interval: 300ms
      retries: 3
    deploy:
      update_config: {{order: start-first}}
"""


def test_start_first_on_dockerd(tmp_path: Path) -> None:
    with dockerd.private_dockerd(bip=BIP, pool=POOL) as (env, _tmp, _daemon):

        def composer(*args: str) -> subprocess.CompletedProcess[str]:
            environ = {k: v for k, v in env.items() if not k.startswith("COMPOSE_")}
            environ["PYTHONPATH"] = str(ROOT)
            return subprocess.run(
                [sys.executable, "-m", "composer.cli.main", *args],
                cwd=tmp_path,
                env=environ,
                capture_output=True,
                text=True,
                timeout=120,
            )

        def web() -> dict[str, str]:
            out = subprocess.run(
                [dockerd.DOCKER, "ps", "-a", "--filter", "label=com.docker.compose.project=roll", "--format",
                 "{{json .}}"],
                env=env, capture_output=True, text=True, check=True,
            ).stdout  # fmt: skip
            return {row["Names"]: row["ID"] for row in map(json.loads, out.splitlines())}

        def page() -> str:
            r = subprocess.run(
                [dockerd.DOCKER, "exec", "roll-web-1", "cat", "/www/index.html"],
                env=env, capture_output=True, text=True,
            )  # fmt: skip
            return r.stdout.strip()

        (tmp_path / "compose.yaml").write_text(PROJECT.format(version="v1", ports=""))
        assert composer("up", "-d", "--wait").returncode == 0
        old = web()
        (tmp_path / "compose.yaml").write_text(PROJECT.format(version="v2", ports=""))
        up = composer("up", "-d")
        assert up.returncode == 0, up.stderr
        assert "Healthy" in up.stderr  # waited for the new container before the old one went
        new = web()
        assert list(new) == ["roll-web-1"] and new["roll-web-1"] != old["roll-web-1"]
        assert page() == "v2"

        # a fixed host port: dockerd refuses it to a second container, so stop-first with a warning
        ports = f'ports: ["127.0.0.1:{free_port()}:80"]'
        (tmp_path / "compose.yaml").write_text(PROJECT.format(version="v2", ports=ports))
        assert composer("up", "-d", "--wait").returncode == 0
        (tmp_path / "compose.yaml").write_text(PROJECT.format(version="v3", ports=ports))
        up = composer("up", "-d")
        assert up.returncode == 0, up.stderr
        assert "start-first update needs composer-engine to hold a published port" in up.stderr
        assert "Healthy" not in up.stderr
        assert list(web()) == ["roll-web-1"] and page() == "v3"
        assert composer("down").returncode == 0
    assert not os.path.exists(_tmp)
