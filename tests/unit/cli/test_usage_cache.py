"""A command line's result is kept between runs by its form: the words of the usage text verbatim, any other
word as a placeholder (composer.cli.parsing); what a kept form gives is what docopt gives for the line."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest
from docopt import DocoptExit, docopt

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
        ["ps", "--status", "secret-value-42"],
        ["ps", "web9", "db7"],
        ["up", "--scale", "web9=3", "-d"],
        ["logs", "--tail", "17", "web9"],
    ],
)
def test_other_words_are_kept_only_as_placeholders(cache_home: Path, args: list[str]) -> None:
    from composer.cli import commands

    module = commands.load(args[0])
    assert module is not None
    doc = module.__doc__ or ""
    expected = dict(docopt(doc, args[1:], default_help=False))
    assert parsing.parse_command(doc, args) == expected  # parsed, kept
    assert parsing.parse_command(doc, args) == expected  # read back, filled
    (entry,) = _entries(cache_home)
    for word in args[1:]:
        if not word.startswith("-"):
            assert word.encode() not in entry.read_bytes()
    other = [w.replace("9", "8") for w in args]  # the same form, other words: the same entry, their values
    assert parsing.parse_command(doc, other) == dict(docopt(doc, other[1:], default_help=False))
    assert len(_entries(cache_home)) == 1


@pytest.mark.parametrize("args", [["ps", "--format=json"], ["ps", "-aq"], ["logs", "--tail=5"], ["ps", "-"]])
def test_a_line_with_a_dash_word_the_usage_does_not_know_is_never_written(
    cache_home: Path, args: list[str]
) -> None:
    from composer.cli import commands

    module = commands.load(args[0])
    assert module is not None
    doc = module.__doc__ or ""
    try:
        expected: dict[str, object] | None = dict(docopt(doc, args[1:], default_help=False))
    except DocoptExit:
        expected = None
    if expected is None:
        with pytest.raises(parsing.UsageError):
            parsing.parse_command(doc, args)
    else:
        assert parsing.parse_command(doc, args) == expected
    assert _entries(cache_home) == []


def test_a_damaged_entry_is_parsed_again_and_rewritten(cache_home: Path) -> None:
    doc = ps.__doc__ or ""
    expected = parsing.parse_command(doc, ["ps", "-a"])
    (entry,) = _entries(cache_home)
    entry.write_bytes(entry.read_bytes()[:-3] + b"xyz")
    assert parsing.parse_command(doc, ["ps", "-a"]) == expected
    assert parsing._read((parsing.__version__, doc, ("-a",), False)) == expected  # rewritten


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


def _lines(doc: str, rng: random.Random, n: int) -> list[list[str]]:
    """Command lines of the usage's own words (flags, literals), values and names, `--`, in any order."""
    words = sorted(parsing._words(doc))
    flags = [w for w in words if w.startswith("-") and w != "-"]
    literals = [w for w in words if not w.startswith("-") and w.islower()]
    values = ["web", "db9", "8080:80", "a=b", "", "x y", "10", "/tmp/f"]
    pool = flags * 3 + literals + values + ["--"]
    return [[rng.choice(pool) for _ in range(rng.randint(0, 5))] for _ in range(n)]


def _docopt_or_error(doc: str, args: list[str], options_first: bool) -> dict[str, object] | None:
    try:
        return dict(docopt(doc, args, default_help=False, options_first=options_first))
    except DocoptExit:
        return None


@pytest.mark.parametrize("name", __import__("composer.cli.commands", fromlist=["names"]).names())
def test_every_command_gives_what_docopt_gives_parsed_or_kept(cache_home: Path, name: str) -> None:
    from composer.cli import commands

    module = commands.load(name)
    assert module is not None
    doc = module.__doc__ or ""
    rng = random.Random(name)  # the same lines on every run
    for options_first in (False, True):
        for args in _lines(doc, rng, 25):
            if "-h" in args or "--help" in args:
                continue
            expected = _docopt_or_error(doc, args, options_first)
            for _ in range(2):  # parsed (and kept), then read back
                if expected is None:
                    with pytest.raises(parsing.UsageError):
                        parsing.parse_command(doc, [name, *args], options_first=options_first)
                else:
                    got = parsing.parse_command(doc, [name, *args], options_first=options_first)
                    assert got == expected, (args, options_first)
