"""Which paths a watch rule acts on: built-ins, the rule's ignore/include, .dockerignore, project files."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from composer.loader.pipeline import LoadOptions, load_project
from composer.watch.batch import Batch, Debouncer
from composer.watch.ignore import Patterns, builtin_ignored
from composer.watch.rules import WatchError, rules_for


@pytest.mark.parametrize(
    ("rel", "ignored"),
    [
        ("a.py", False),
        (".git/HEAD", True),
        ("src/.git/objects/x", True),
        ("a.py.swp", True),
        (".a.py.swp", True),
        ("a.py~", True),
        ("4913", True),
        ("pkg/__pycache__/m.pyc", False),  # synced, as Compose does: only VCS dirs and editor temps go
        ("gitignore", False),
    ],
)
def test_builtin(rel: str, ignored: bool) -> None:
    assert builtin_ignored(rel) is ignored


def test_dockerignore_syntax() -> None:
    p = Patterns.parse(["# comment", "*.log", "build/", "**/tmp", "!keep.log", "/docs/*.md"])
    assert p.matches("x.log") and not p.matches("keep.log")
    assert p.matches("build/out/a.o")
    assert p.matches("a/b/tmp/c") and p.matches("tmp")
    assert p.matches("docs/a.md") and not p.matches("docs/sub/a.md")
    assert not p.matches("src/x.log")  # `*` does not cross directories


def _load(tmp_path: Path, text: str) -> tuple:
    (tmp_path / "compose.yaml").write_text(text)
    loaded = load_project(
        LoadOptions(files=(str(tmp_path / "compose.yaml"),), working_dir=str(tmp_path), environ={})
    )
    return loaded.project, loaded.config_files


def test_rules_apply_ignore_include_and_dockerignore(tmp_path: Path) -> None:
    (tmp_path / ".dockerignore").write_text("secret.txt\n")
    (tmp_path / "Dockerfile").write_text("FROM busybox\n")
    project, files = _load(
        tmp_path,
        """services:
  web:
    build: .
    develop:
      watch:
        - action: sync
          path: .
          target: /app
          ignore: [node_modules/]
          include: ["*.py", "*.yaml", "Dockerfile", "*.txt"]
""",
    )
    (rule,) = rules_for(project, ["web"], files)
    assert rule.relative(tmp_path / "main.py") == "main.py"
    assert rule.relative(tmp_path / "node_modules" / "x.py") is None
    assert rule.relative(tmp_path / "README.md") is None  # not included
    assert rule.relative(tmp_path / "secret.txt") is None  # .dockerignore
    assert rule.relative(tmp_path / "compose.yaml") is None  # the project file is never synced
    assert rule.relative(tmp_path / "Dockerfile") is None
    assert rule.container_path("main.py") == "/app/main.py"


def test_per_dockerfile_ignore_wins(tmp_path: Path) -> None:
    (tmp_path / ".dockerignore").write_text("a.txt\n")
    (tmp_path / "Dockerfile").write_text("FROM busybox\n")
    (tmp_path / "Dockerfile.dockerignore").write_text("b.txt\n")
    project, files = _load(
        tmp_path,
        "services:\n  web:\n    build: .\n    develop:\n      watch:\n        - {action: rebuild, path: .}\n",
    )
    (rule,) = rules_for(project, ["web"], files)
    assert rule.relative(tmp_path / "a.txt") == "a.txt"
    assert rule.relative(tmp_path / "b.txt") is None


def test_bad_rules_are_one_line_errors(tmp_path: Path) -> None:
    project, files = _load(
        tmp_path,
        "services:\n  web:\n    image: busybox\n    develop:\n      watch:\n"
        "        - {action: rebuild, path: .}\n",
    )
    with pytest.raises(WatchError, match="rebuild needs a build section"):
        rules_for(project, ["web"], files)


def test_debouncer_batches_a_burst() -> None:
    got: list[Batch] = []
    done = threading.Event()

    def flush(batch: Batch) -> None:
        got.append(batch)
        done.set()

    d = Debouncer(flush, quiet=0.05)
    try:
        for i in range(500):
            d.add("web", Path(f"/p/{i}"))
        d.add("db", Path("/q"))
        assert done.wait(2)
        time.sleep(0.2)
    finally:
        d.close()
    assert sorted(b.service for b in got) == ["db", "web"]
    assert len(next(b for b in got if b.service == "web").paths) == 500


def test_debouncer_waits_for_an_unclosed_file() -> None:
    """A created file whose writer has not closed it holds the batch back until the close arrives."""
    got: list[tuple[float, Batch]] = []
    d = Debouncer(lambda b: got.append((time.monotonic(), b)), quiet=0.02)
    try:
        t0 = time.monotonic()
        d.add("web", Path("/p/slow"), writing=True)
        time.sleep(0.15)
        assert got == []  # well past the quiet window: still waiting for the close
        d.add("web", Path("/p/slow"), writing=False)
        deadline = time.monotonic() + 2
        while not got and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        d.close()
    assert len(got) == 1 and got[0][1].paths == {Path("/p/slow")}
    assert got[0][0] - t0 >= 0.15


def test_debouncer_closes_early_after_one_saved_file() -> None:
    """One file written and closed: the short settled window closes the batch, not the long quiet one."""
    got: list[tuple[float, Batch]] = []
    d = Debouncer(lambda b: got.append((time.monotonic(), b)), quiet=1.0, settled=0.05)
    try:
        t0 = time.monotonic()
        d.add("web", Path("/p/a"), writing=True)
        d.add("web", Path("/p/a"), writing=False)
        deadline = t0 + 3
        while not got and time.monotonic() < deadline:
            time.sleep(0.005)
    finally:
        d.close()
    assert len(got) == 1 and got[0][1].paths == {Path("/p/a")}
    assert got[0][0] - t0 < 0.9  # the settled window, well before the 1 s quiet one


def test_debouncer_keeps_the_quiet_window_for_a_burst() -> None:
    """Files written one after another, with pauses longer than the settled window (a loaded machine), are
    still one batch: from the second path on the quiet window applies."""
    got: list[Batch] = []
    d = Debouncer(got.append, quiet=0.3, settled=0.01)
    try:
        for i in range(5):
            d.add("web", Path(f"/p/{i}"), writing=True)
            d.add("web", Path(f"/p/{i}"), writing=False)
            time.sleep(0.03 if i else 0.005)
        deadline = time.monotonic() + 3
        while not got and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(0.4)
    finally:
        d.close()
    assert len(got) == 1 and len(got[0].paths) == 5


def test_debouncer_keeps_the_quiet_window_while_a_file_is_open() -> None:
    """A close while another file is still open for writing does not settle the batch."""
    got: list[tuple[float, Batch]] = []
    d = Debouncer(lambda b: got.append((time.monotonic(), b)), quiet=0.02, settled=0.001)
    try:
        d.add("web", Path("/p/a"), writing=True)
        d.add("web", Path("/p/b"), writing=True)
        d.add("web", Path("/p/a"), writing=False)
        time.sleep(0.2)
        assert got == []  # /p/b is still being written
        d.add("web", Path("/p/b"), writing=False)
        deadline = time.monotonic() + 2
        while not got and time.monotonic() < deadline:
            time.sleep(0.005)
    finally:
        d.close()
    assert len(got) == 1 and got[0][1].paths == {Path("/p/a"), Path("/p/b")}
