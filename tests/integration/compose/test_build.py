"""A built service is rebuilt and recreated when a file of its context changes, and `up --dry-run` names
the file; files left out by .dockerignore change nothing."""

from __future__ import annotations

from pathlib import Path

import docker
import pytest

from tests.integration.compose.conftest import Runner

pytestmark = pytest.mark.root


def test_context_change_rebuilds_and_recreates(
    composer: Runner, api: docker.APIClient, project_dir: Path
) -> None:
    (project_dir / "Dockerfile").write_text(
        'FROM busybox:latest\nCOPY msg.txt /msg.txt\nCMD ["sleep", "1000"]\n'
    )
    (project_dir / "msg.txt").write_text("one\n")
    (project_dir / ".dockerignore").write_text("notes\n")
    (project_dir / "notes").write_text("draft\n")
    (project_dir / "compose.yaml").write_text("name: ctx\nservices:\n  app: {build: ., init: true}\n")
    try:
        assert composer("up", "-d", timeout=120).code == 0
        first = api.inspect_container("ctx-app-1")["Id"]
        first_image = api.inspect_container(first)["Image"]
        (project_dir / "notes").write_text("edited, but ignored\n")
        assert composer("--dry-run", "up", "-d").out.strip() == "Nothing to do: the project is up to date"
        (project_dir / "msg.txt").write_text("two\n")
        dry = composer("--dry-run", "up", "-d")
        assert "Image ctx-app: Build (msg.txt changed)" in dry.out
        assert "Container ctx-app-1: Create (recreate: rebuild: msg.txt changed)" in dry.out
        up = composer("up", "-d", timeout=120)
        assert up.code == 0, up.err
        second = api.inspect_container("ctx-app-1")["Id"]
        assert second != first
        new_image = api.inspect_image("ctx-app")["Id"]
        assert api.inspect_container("ctx-app-1")["Image"] == new_image
        assert api.inspect_container(second)["Image"] != first_image
        assert composer("--dry-run", "up", "-d").out.strip() == "Nothing to do: the project is up to date"
    finally:
        assert composer("down", "-t", "0", "--rmi", "all").code == 0
