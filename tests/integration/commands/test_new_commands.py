"""attach, commit, export, scale and volumes: composer and the reference Compose v2 binary on the same
containers of our engine — exit codes, output, and what each leaves in the engine."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import tarfile

import pytest

from tests.integration.commands.conftest import REFERENCE, Project, _env


def _flags(help_text: str) -> set[str]:
    return set(re.findall(r"(--[a-z][a-z-]+)", help_text))


@pytest.mark.parametrize("command", ["attach", "commit", "export", "scale", "volumes", "publish"])
def test_help_lists_the_reference_flags(project: Project, command: str) -> None:
    ours = project.composer(command, "--help", check=True).stdout
    ref = project.reference(command, "--help").stdout
    # every flag of ours is one Compose has (--dry-run is global here, --help implicit there)
    assert _flags(ours) - {"--help"} <= _flags(ref), ours
    listed = project.composer("--help", check=True).stdout
    assert re.search(rf"^  {command}\s", listed, re.M), listed


def test_commit_makes_an_image_with_author_message_and_changes(project: Project) -> None:
    project.container("web", cmd=["sh", "-c", "echo made > /made; sleep 3600"])
    done = project.composer("commit", "-a", "me", "-m", "why", "-c", "ENV X=1", "web", "snap:one")
    assert done.returncode == 0, done.stderr
    assert re.search(r"^ demo-web-1 Commit demo-web-1 Committed as sha256:[0-9a-f]{64}$", done.stderr, re.M)
    image = project.api.inspect_image("snap:one")
    assert (image["Author"], image["Comment"]) == ("me", "why")
    assert "X=1" in image["Config"]["Env"]
    ref = project.reference("commit", "web", "snap:ref")
    assert ref.returncode == 0, ref.stderr
    ours_missing = project.composer("commit", "--index", "3", "web", "x")
    ref_missing = project.reference("commit", "--index", "3", "web", "x")
    assert (ours_missing.returncode, ours_missing.stderr) == (ref_missing.returncode, ref_missing.stderr)
    for tag in ("snap:one", "snap:ref"):
        project.api.remove_image(tag)


def test_export_writes_the_container_filesystem(project: Project) -> None:
    project.container("web", cmd=["sh", "-c", "echo made > /made; sleep 3600"])
    target = project.path / "web.tar"
    done = project.composer("export", "-o", str(target), "web")
    assert done.returncode == 0, done.stderr
    with tarfile.open(target) as tar:
        assert tar.extractfile("made").read() == b"made\n"  # type: ignore[union-attr]
    piped = subprocess.run(
        [sys.executable, "-m", "composer.cli.main", "export", "web"],
        cwd=project.path,
        env={**_env(), "DOCKER_HOST": project.engine.docker_host},
        capture_output=True,
        timeout=60,
    )
    assert piped.returncode == 0
    names = _members(piped.stdout)
    ref = subprocess.run(
        [REFERENCE, "export", "web"],
        cwd=project.path,
        env={**_env(), "DOCKER_HOST": project.engine.docker_host},
        capture_output=True,
        timeout=60,
    )
    assert sorted(names) == sorted(_members(ref.stdout))


def _labels_sorted(text: str) -> str:
    """Go prints a map's labels in random order: compare them sorted."""
    return re.sub(r'"Labels":"([^"]*)"', lambda m: ",".join(sorted(m.group(1).split(","))), text)


def _members(data: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return tar.getnames()


def test_attach_passes_stdin_and_returns_the_exit_code(project: Project) -> None:
    (project.path / "compose.yaml").write_text(
        "name: demo\nservices:\n  web:\n    image: busybox:latest\n    stdin_open: true\n"
        "    command: sh -c 'read x; echo out-line; echo err-line >&2; echo got $$x; exit 5'\n"
    )
    up = project.composer("up", "-d")
    assert up.returncode == 0, up.stderr
    done = project.composer("attach", "web", input=b"hello\n")
    assert (done.returncode, done.stdout, done.stderr) == (5, "out-line\ngot hello\n", "err-line\n")
    project.composer("down", "-t", "0")


@pytest.mark.parametrize("command", ["attach", "commit", "export"])
def test_a_missing_container_is_said_as_the_reference_says(project: Project, command: str) -> None:
    project.container("web")
    for args in (["--index", "2", "web"], ["nosuch"], ["once"]):
        ours = project.composer(command, *args)
        ref = project.reference(command, *args)
        assert (ours.returncode, ours.stderr) == (ref.returncode, ref.stderr) == (1, ref.stderr), args


def test_volumes_matches_the_reference(project: Project) -> None:
    (project.path / "compose.yaml").write_text(
        "name: demo\nservices:\n"
        "  web: {image: busybox:latest, command: sleep 3600, volumes: [logs:/logs]}\n"
        "  db: {image: busybox:latest, command: sleep 3600, volumes: [data:/data, logs:/l2]}\n"
        "volumes: {data: {}, logs: {}, unused: {}}\n"
    )
    assert project.composer("up", "-d").returncode == 0
    for args in (
        [],
        ["-q"],
        ["web"],
        ["db", "--format", "{{.Name}} {{.Driver}}"],
        ["--format", "json"],
        ["x"],
    ):
        ours, ref = project.composer("volumes", *args), project.reference("volumes", *args)
        assert (ours.returncode, _labels_sorted(ours.stdout)) == (ref.returncode, _labels_sorted(ref.stdout))
    project.composer("down", "-v", "-t", "0")


def test_scale_matches_the_reference(project: Project) -> None:
    (project.path / "compose.yaml").write_text(
        "name: demo\nservices:\n  web: {image: busybox:latest, command: sleep 3600, init: true}\n"
    )
    for tool in (project.composer, project.reference):
        assert tool("up", "-d").returncode == 0
        assert tool("scale", "web=3").returncode == 0
        names = sorted(c["Names"][0] for c in project.api.containers())
        assert names == ["/demo-web-1", "/demo-web-2", "/demo-web-3"], tool
        assert tool("scale", "web=1").returncode == 0
        assert [c["Names"][0] for c in project.api.containers(all=True)] == ["/demo-web-1"]
        tool("down", "-t", "0")
    for bad in (["web"], ["web=x"], ["nosuch=1"]):
        ours, ref = project.composer("scale", *bad), project.reference("scale", *bad)
        assert (ours.returncode, ours.stderr) == (ref.returncode, ref.stderr), bad
