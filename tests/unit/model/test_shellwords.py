"""Command strings split into words like the reference (go-shellwords rules, not POSIX sh)."""

from __future__ import annotations

import pytest

from composer.loader.norm_shellwords import ShellWordsError, split_words


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("echo \"hello world\" 'x y'", ["echo", "hello world", "x y"]),
        ('echo "a\\"b" \'c\\d\' e\\ f', ["echo", 'a"b', "c\\d", "e f"]),
        ("echo a && echo b", ["echo", "a"]),  # stops at the first unquoted operator
        ("sh -c 'a && b'", ["sh", "-c", "a && b"]),
        ("echo a 2>&1", ["echo", "a"]),
        ("echo \"\" ''", ["echo", "", ""]),
        ("echo $(date +%s) `date; x`", ["echo", "$(date +%s)", "`date; x`"]),
        ('echo "a\\tb"', ["echo", "atb"]),
        ("  spaced \t out  ", ["spaced", "out"]),
    ],
)
def test_split(line: str, words: list[str]) -> None:
    assert split_words(line) == words


@pytest.mark.parametrize("line", ["echo 'open", 'echo "open', "echo \\", "echo )", "echo (a)", "x $(a"])
def test_invalid(line: str) -> None:
    with pytest.raises(ShellWordsError):
        split_words(line)
