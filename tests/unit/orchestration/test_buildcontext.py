"""The build-context record: digests per file, .dockerignore respected, changes named."""

from __future__ import annotations

from pathlib import Path

from composer.buildcontext import changed_files, context_digests, encode


def test_digests_ignore_and_changes(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM busybox:latest\n")
    (tmp_path / "app.sh").write_text("echo 1\n")
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "x.log").write_text("noise")
    (tmp_path / ".dockerignore").write_text("# comment\nlogs\n*.tmp\n")
    (tmp_path / "a.tmp").write_text("noise")
    first = context_digests(tmp_path)
    assert first is not None and sorted(first) == [".dockerignore", "Dockerfile", "app.sh"]
    recorded = encode(first)
    (tmp_path / "logs" / "x.log").write_text("more noise")
    assert changed_files(recorded, context_digests(tmp_path)) == []
    (tmp_path / "app.sh").write_text("echo 2\n")
    (tmp_path / "new.sh").write_text("echo new\n")
    assert changed_files(recorded, context_digests(tmp_path)) == ["app.sh", "new.sh"]
    (tmp_path / "app.sh").chmod(0o755)
    assert "app.sh" in changed_files(recorded, context_digests(tmp_path))
    assert changed_files(None, first) == [] and changed_files("not json", first) == []
    assert context_digests(tmp_path / "missing") is None
