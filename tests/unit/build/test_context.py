"""Build context handling on real temp dirs: unpack with .dockerignore, source selection, content checksums,
paths kept inside their root, COPY semantics."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from engine.build import fsops
from engine.build.context import Context, checksum, unpack
from engine.build.paths import scoped
from engine.errors import InvalidParameter


def _tar(files: dict[str, bytes]) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    buf.seek(0)
    return buf


def test_unpack_applies_dockerignore_but_keeps_dockerfile(tmp_path: Path) -> None:
    body = _tar(
        {
            "Dockerfile": b"FROM x\n",
            ".dockerignore": b"*\n!src\n",
            "src/a.py": b"a",
            "secret.env": b"s",
        }
    )
    ctx = unpack(body, tmp_path, "Dockerfile")
    found = sorted(str(p.relative_to(ctx)) for p in ctx.rglob("*") if p.is_file())
    assert found == [".dockerignore", "Dockerfile", "src/a.py"]


def test_unpack_plain_dockerfile_body(tmp_path: Path) -> None:
    ctx = unpack(io.BytesIO(b"FROM busybox\nRUN true\n"), tmp_path, "Dockerfile")
    assert (ctx / "Dockerfile").read_text() == "FROM busybox\nRUN true\n"


def test_select_globs_and_missing(tmp_path: Path) -> None:
    for name in ("a.txt", "b.txt", "c.md", "d/e.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(name)
    ctx = Context(tmp_path)
    assert [s.rel for s in ctx.select("*.txt")] == ["a.txt", "b.txt"]
    assert [s.rel for s in ctx.select("d/*.txt")] == ["d/e.txt"]
    assert [s.rel for s in ctx.select("../../d/e.txt")] == ["d/e.txt"]  # cannot climb out
    with pytest.raises(InvalidParameter, match="nothere"):
        ctx.select("nothere")


def test_context_symlinks_stay_inside(tmp_path: Path) -> None:
    (tmp_path / "inside.txt").write_text("in")
    os.symlink("/etc", tmp_path / "etc-link")
    os.symlink("/inside.txt", tmp_path / "abs-link")
    ctx = Context(tmp_path)
    with pytest.raises(InvalidParameter):
        ctx.select("etc-link/passwd")  # /etc of the context, which has none: never the host's
    assert ctx.select("abs-link")[0].path == tmp_path / "inside.txt"
    assert scoped(tmp_path, "/etc-link/../../../x") == tmp_path / "x"


def test_checksum_tracks_content_not_mtime(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("one")
    ctx = Context(tmp_path)
    first = checksum(ctx.select("f"))
    os.utime(tmp_path / "f", (1, 1))
    assert checksum(ctx.select("f")) == first
    (tmp_path / "f").write_text("two")
    assert checksum(ctx.select("f")) != first


@pytest.mark.root
def test_copy_semantics(tmp_path: Path) -> None:
    src, root = tmp_path / "ctx", tmp_path / "root"
    (src / "dir" / "sub").mkdir(parents=True)
    (src / "dir" / "sub" / "f").write_text("f")
    (src / "one").write_text("1")
    (root / "existing").mkdir(parents=True)
    os.symlink("/existing", root / "link")  # an absolute link in the image resolves inside the root
    ctx = Context(src)
    fsops.copy_sources(root, ctx.select("dir"), "/dest", owner=None, mode=None, from_context=True)
    assert (root / "dest" / "sub" / "f").read_text() == "f"  # a directory copies its contents
    fsops.copy_sources(root, ctx.select("one"), "/existing", owner=None, mode=None, from_context=True)
    assert (root / "existing" / "one").read_text() == "1"  # into an existing directory
    fsops.copy_sources(root, ctx.select("one"), "/link/two", owner=(5, 6), mode=0o600, from_context=True)
    st = os.stat(root / "existing" / "two")
    assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (5, 6, 0o600)
    fsops.copy_sources(root, ctx.select("one"), "/new/name", owner=None, mode=None, from_context=True)
    assert (root / "new" / "name").read_text() == "1"  # a file dest that does not exist yet
    with pytest.raises(InvalidParameter, match="must be a directory"):
        fsops.copy_sources(root, ctx.select("*"), "/new/name", owner=None, mode=None, from_context=True)
