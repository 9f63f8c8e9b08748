"""The global flags are split by hand (composer.cli.options.split_global_args) instead of by docopt; on every
command line docopt accepted, both give the same result, and where they differ it is Compose's behaviour
(checked against the reference binary where it matters)."""

from __future__ import annotations

import itertools
import random
from typing import Any

import pytest
from docopt import DocoptExit, docopt

from composer.cli.options import UsageError, split_global_args
from composer.cli.usage import _DRY_RUN_OPTION, _USAGE

# the grammar docopt used to parse the global flags with
_GRAMMAR = _USAGE.replace("{dry_run}", _DRY_RUN_OPTION).replace("{commands}", "")

_WORDS = [
    ["-f", "a.yaml"], ["-fb.yaml"], ["--file", "c.yaml"], ["--file=d.yaml"], ["-p", "proj"], ["-pname"],
    ["--project-name", "x"], ["--project-name=y"], ["--project-directory", "/tmp"], ["--env-file", ".env"],
    ["--env-file=e2"], ["--profile", "dev"], ["--profile=ops"], ["--ansi", "never"], ["--ansi=always"],
    ["--progress", "plain"], ["-H", "unix:///s"], ["-Htcp://h:1"], ["--host", "unix:///t"],
    ["--context", "c"], ["--debug"], ["--dry-run"], ["--unknown"], ["-x"], ["-f"], ["--ansi"], ["-f", "-p"],
]  # fmt: skip
_TAILS = [[], ["ps"], ["up", "-d", "--build"], ["logs", "-f", "--", "x"], ["run", "svc", "-p", "8080:80"]]


def _docopt(argv: list[str]) -> dict[str, Any] | None:
    try:
        return dict(docopt(_GRAMMAR, argv, default_help=False, options_first=True))
    except DocoptExit:
        return None


def _ours(argv: list[str]) -> dict[str, Any] | None:
    try:
        return split_global_args(argv)
    except UsageError:
        return None


def _corpus() -> list[list[str]]:
    rng = random.Random(18)  # fixed: the same corpus on every run
    lines = [[*w, *t] for w, t in itertools.product(_WORDS, _TAILS)]
    for _ in range(1500):
        words = [w for _ in range(rng.randint(0, 4)) for w in rng.choice(_WORDS)]
        lines.append(words + rng.choice(_TAILS))
    return lines


def _flag_given_twice(argv: list[str]) -> bool:
    """A flag that takes one value (or none) appears twice among the global flags."""
    short = {"-p": "--project-name", "-H": "--host", "-f": "--file", "-h": "--help", "-v": "--version"}
    words = argv[: argv.index("--")] if "--" in argv else argv
    flags = [
        w.split("=")[0] if w.startswith("--") else short.get(w[:2], w) for w in words if w.startswith("-")
    ]
    return any(flags.count(f) > 1 for f in set(flags) if f not in ("--file", "--env-file", "--profile"))


@pytest.mark.parametrize("argv", _corpus(), ids=lambda a: " ".join(a) or "(none)")
def test_same_as_docopt_on_what_docopt_accepted(argv: list[str]) -> None:
    theirs, ours = _docopt(argv), _ours(argv)
    if theirs is not None:
        assert ours == theirs
    elif ours is not None:
        # docopt refused; ours takes it as Compose does: no command (help is shown), or a flag given twice
        # (the last one counts)
        assert ours["COMMAND"] is None or _flag_given_twice(argv), ours


def test_the_last_of_a_repeated_single_flag_counts_as_in_compose() -> None:
    assert split_global_args(["-p", "a", "--project-name", "b", "ps"])["--project-name"] == "b"


def test_double_dash_before_the_command_leaves_no_command_as_in_compose() -> None:
    # `docker compose -p x -- ps` prints the usage: the words after `--` are no command
    parsed = split_global_args(["-p", "x", "--", "ps", "--", "y"])
    assert (parsed["COMMAND"], parsed["ARGS"], parsed["--project-name"]) == (None, ["ps", "--", "y"], "x")


@pytest.mark.parametrize(
    "argv",
    [["--deb", "ps"], ["--debug=1", "ps"], ["-fz"[:2]], ["--file"], ["-q", "ps"], ["--proj", "x", "ps"]],
)
def test_unknown_abbreviated_or_incomplete_flags_are_one_usage_error(argv: list[str]) -> None:
    # Compose (cobra) knows no abbreviations either: `docker compose --deb ps` is "unknown flag: --deb"
    with pytest.raises(UsageError, match="unknown flag or missing value"):
        split_global_args(argv)


def test_help_and_version_flags_with_others() -> None:
    assert split_global_args(["-f", "a", "-h"])["--help"] is True
    assert split_global_args(["--debug", "-v"])["--version"] is True
