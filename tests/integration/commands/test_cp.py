"""`composer cp` both ways: files, directories, into every replica, tar on stdout."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from tests.integration.commands.conftest import Project

pytestmark = pytest.mark.root


def _cat(project: Project, cid: str, path: str) -> bytes:
    exec_id = project.api.exec_create(cid, ["cat", path])
    return bytes(project.api.exec_start(exec_id))


def test_cp_a_file_into_every_replica_and_back_out(project: Project, tmp_path: Path) -> None:
    one = project.container("web", 1)
    two = project.container("web", 2)
    (tmp_path / "note.txt").write_text("hello cp\n")
    result = project.composer("cp", str(tmp_path / "note.txt"), "web:/tmp/", check=True)
    assert f" demo-web-2 copy {tmp_path}/note.txt to demo-web-2:/tmp/ Copied\n" in result.stderr
    assert _cat(project, one, "/tmp/note.txt") == _cat(project, two, "/tmp/note.txt") == b"hello cp\n"
    project.composer("cp", "web:/tmp/note.txt", str(tmp_path / "back.txt"), check=True)
    assert (tmp_path / "back.txt").read_text() == "hello cp\n"


def test_cp_a_directory_out_and_into_a_new_name(project: Project, tmp_path: Path) -> None:
    web = project.container("web")
    project.container("web", 2)
    # made by an exec, which returns once the files are complete
    exec_id = project.api.exec_create(web, ["sh", "-c", "mkdir -p /data/sub && echo deep > /data/sub/f"])
    project.api.exec_start(exec_id)
    project.composer("cp", "--index", "1", "web:/data", str(tmp_path / "copy"), check=True)
    assert (tmp_path / "copy" / "sub" / "f").read_text() == "deep\n"
    project.composer("cp", "--index", "2", str(tmp_path / "copy"), "web:/restored", check=True)
    two = project.api.containers(filters={"name": "demo-web-2"})[0]["Id"]
    assert _cat(project, two, "/restored/sub/f") == b"deep\n"


def test_cp_to_stdout_is_a_tar(project: Project) -> None:
    project.container("web", cmd=["sh", "-c", "echo x > /tmp/x; sleep 3600"])
    result = project.composer("cp", "web:/etc/hostname", "-", check=True)
    with tarfile.open(fileobj=io.BytesIO(result.stdout.encode("latin-1")), mode="r") as tar:
        assert tar.getnames() == ["hostname"]


def test_cp_of_a_missing_path_is_one_line(project: Project, tmp_path: Path) -> None:
    project.container("web")
    result = project.composer("cp", "web:/no/such", str(tmp_path / "x"))
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == "Could not find the file /no/such in container demo-web-1"
