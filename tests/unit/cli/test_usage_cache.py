"""A command line made only of the usage's own flags is parsed once and its result kept between runs; any
other line is parsed each time and never written to disk (composer.cli.parsing)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from docopt import docopt

from composer.cli import parsing
from composer.cli.commands import ps, up

_USAGE_DIR = "composer/usage"


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("COMPOSER_NO_USAGE_CACHE", raising=False)
    return tmp_path / "cache"


def _entries(home: Path) -> list[Path]:
    return sorted((home / _USAGE_DIR).glob("*.bin")) if (home / _USAGE_DIR).is_dir() else []


@pytest.mark.parametrize("args", [["up", "-d"], ["up", "-d", "--build", "--remove-orphans"], ["up"]])
def test_a_flags_only_line_is_kept_and_read_back_the_same(cache_home: Path, args: list[str]) -> None:
    doc = up.__doc__ or ""
    first = parsing.parse_command(doc, args)
    assert first == dict(docopt(doc, args[1:], default_help=False))
    assert len(_entries(cache_home)) == 1
    (entry,) = _entries(cache_home)
    stamp = entry.stat().st_mtime_ns
    assert parsing.parse_command(doc, args) == first
    assert entry.stat().st_mtime_ns == stamp  # read, not written again


@pytest.mark.parametrize(
    "args",
    [
        ["ps", "--status", "running"],  # a value
        ["ps", "web"],  # a service name
        ["ps", "--format=json"],  # a value attached
        ["ps", "-aq"],  # stacked: not a flag of the usage, whole
        ["up", "--scale", "web=3"],
    ],
)
def test_a_line_with_any_other_word_is_never_written(cache_home: Path, args: list[str]) -> None:
    doc = (ps if args[0] == "ps" else up).__doc__ or ""
    assert parsing.parse_command(doc, args) == dict(docopt(doc, args[1:], default_help=False))
    assert _entries(cache_home) == []


def test_a_damaged_entry_is_parsed_again_and_rewritten(cache_home: Path) -> None:
    doc = ps.__doc__ or ""
    expected = parsing.parse_command(doc, ["ps", "-a"])
    (entry,) = _entries(cache_home)
    entry.write_bytes(entry.read_bytes()[:-3] + b"xyz")
    assert parsing.parse_command(doc, ["ps", "-a"]) == expected
    assert parsing._read((parsing.__version__, doc, ("-a",), False)) == expected


def test_a_changed_usage_is_another_entry(cache_home: Path) -> None:
    doc = ps.__doc__ or ""
    parsing.parse_command(doc, ["ps", "-a"])
    changed = doc.replace("Options:\n", "Options:\n  --extra-flag            Another flag\n", 1)
    parsing.parse_command(changed, ["ps", "-a"])
    assert len(_entries(cache_home)) == 2


def test_bad_usage_is_not_kept(cache_home: Path) -> None:
    with pytest.raises(parsing.UsageError):
        parsing.parse_command(ps.__doc__ or "", ["ps", "--no-such-flag"])
    assert _entries(cache_home) == []


def test_turned_off(cache_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPOSER_NO_USAGE_CACHE", "1")
    parsing.parse_command(ps.__doc__ or "", ["ps", "-a"])
    assert _entries(cache_home) == []
    assert not os.path.exists(cache_home / _USAGE_DIR)


def test_a_kept_line_is_answered_without_importing_docopt(cache_home: Path) -> None:
    import subprocess
    import sys

    probe = (
        "import sys\nfrom composer.cli import parsing\nfrom composer.cli.commands import up\n"
        "parsing.parse_command(up.__doc__, ['up', '-d'])\nprint('docopt' in sys.modules)\n"
    )
    argv = [sys.executable, "-c", probe]
    runs = [subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip() for _ in range(2)]
    assert runs == ["True", "False"]
