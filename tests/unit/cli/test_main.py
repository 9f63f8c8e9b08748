from __future__ import annotations

import subprocess
import sys
import types
from collections.abc import Callable

import pytest

from composer.cli import commands
from composer.errors import ComposerError, ConfigError, Location
from tests.unit.cli.conftest import Result


def test_help_lists_exactly_the_command_modules(cli: Callable[..., Result]) -> None:
    result = cli("--help")
    assert result.code == 0
    listed = result.out.split("Commands:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert [line.split()[0] for line in listed] == commands.names()
    assert "config" in commands.names() and "version" in commands.names()


def test_no_arguments_prints_help(cli: Callable[..., Result]) -> None:
    result = cli()
    assert result.code == 0 and "Usage:" in result.out


def test_dry_run_is_not_offered_until_a_command_supports_it(cli: Callable[..., Result]) -> None:
    supported = [n for n in commands.names() if getattr(commands.load(n), "SUPPORTS_DRY_RUN", False)]
    result = cli("--help")
    assert ("--dry-run" in result.out) == bool(supported)
    if not supported:
        assert cli("--dry-run", "version").code == 1


def test_version(cli: Callable[..., Result]) -> None:
    from composer import __version__

    assert cli("version").out == f"composer version v{__version__}\n"
    assert cli("version", "--short").out == f"{__version__}\n"
    assert cli("--version").out.strip().endswith(__version__)


@pytest.mark.parametrize(
    "args",
    [
        ("nosuchcommand",),
        ("--nosuchflag", "version"),
        ("version", "--nosuchflag"),
        ("--ansi", "sometimes", "version"),
        ("--progress", "fancy", "version"),
    ],
)
def test_usage_errors_are_one_line_and_exit_1(cli: Callable[..., Result], args: tuple[str, ...]) -> None:
    result = cli(*args)
    assert result.code == 1
    assert result.err.count("\n") == 1, result.err
    assert "Traceback" not in result.err


def _plug_command(monkeypatch: pytest.MonkeyPatch, exc: BaseException) -> None:
    """Add a command module that raises `exc`, the way a real command module plugs in."""
    module = types.ModuleType("composer.cli.commands.boom", "Fail on purpose.\n\nUsage:\n  boom\n")

    def run(argv: list[str], options: object) -> int:
        raise exc

    module.run = run  # type: ignore[attr-defined]
    real_names, real_load = commands.names, commands.load
    monkeypatch.setattr(commands, "names", lambda: sorted([*real_names(), "boom"]))
    monkeypatch.setattr(commands, "load", lambda name: module if name == "boom" else real_load(name))


def test_composer_error_prints_message_and_hint_with_its_exit_code(
    cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    _plug_command(
        monkeypatch,
        ConfigError("bad value", location=Location("c.yaml", 3, 5), key_path="services.x", hint="fix it"),
    )
    result = cli("boom")
    assert result.code == ConfigError.exit_code
    assert result.err == "c.yaml:3:5: services.x: bad value (hint: fix it)\n"
    assert "boom" in cli("--help").out


def test_multiline_composer_error_is_folded_to_one_line(
    cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    _plug_command(monkeypatch, ComposerError("first\n  second"))
    result = cli("boom")
    assert (result.code, result.err) == (1, "first second\n")


def test_unexpected_exception_is_an_internal_error_line(
    cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    _plug_command(monkeypatch, RuntimeError("kaput"))
    result = cli("boom")
    assert result.code == 1
    assert result.err == "internal error: RuntimeError: kaput\n"


def test_debug_adds_the_traceback(cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch) -> None:
    _plug_command(monkeypatch, RuntimeError("kaput"))
    result = cli("--debug", "boom")
    assert result.code == 1
    assert "Traceback (most recent call last)" in result.err
    assert result.err.endswith("internal error: RuntimeError: kaput\n")


HEAVY = ("yaml", "jsonschema", "docker", "aiohttp", "composer.loader")


def test_help_imports_nothing_heavy() -> None:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "composer.cli.main", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    imported = {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if "|" in line}
    assert not [m for m in imported if m.split(".")[0] in HEAVY or m.startswith(HEAVY)]


def test_command_help_and_pass_through(capsys: pytest.CaptureFixture[str]) -> None:
    from composer.cli.parsing import parse_command

    doc = "Run a command.\n\nUsage:\n  exec [options] SERVICE COMMAND [ARGS...]\n\nOptions:\n  -T  No TTY\n"
    parsed = parse_command(doc, ["exec", "-T", "web", "ls", "-h"], options_first=True)
    assert (parsed["SERVICE"], parsed["COMMAND"], parsed["ARGS"]) == ("web", "ls", ["-h"])
    with pytest.raises(SystemExit) as stop:
        parse_command(doc, ["exec", "--help"], options_first=True)
    assert stop.value.code == 0 and "Usage:" in capsys.readouterr().out


def test_config_help(cli: Callable[..., Result]) -> None:
    result = cli("config", "--help")
    assert result.code == 0 and "--no-interpolate" in result.out
