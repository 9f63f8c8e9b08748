"""`composer completion bash|zsh|fish` in the real shells, on a real terminal (tmux): TAB completes
commands, flags, literal sub-commands and the project's service names."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.helpers import Tmux, wait_until

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
PROJECT = "services:\n  web: {image: busybox}\n  worker: {image: busybox}\n  db: {image: busybox}\n"
SETUP = {
    "bash": ("exec bash --norc --noprofile", "PS1='bash$ '; source <(composer completion bash); "
             "echo READY-$((20+22))"),
    "zsh": ("exec zsh -f", "PS1='zsh$ '; autoload -Uz compinit && compinit -u -d $HOME/.zcompdump; "
            "source <(composer completion zsh); echo READY-$((20+22))"),
    "fish": ("exec fish --no-config", "function fish_prompt; echo -n 'fish$ '; end; "
             "set -g fish_autosuggestion_enabled 0; composer completion fish | source; "
             "echo READY-(math 20+22)"),
}


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A project directory, a HOME, and a `composer` on PATH that runs this checkout."""
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "compose.yaml").write_text(PROJECT)
    (tmp_path / "home").mkdir()
    (tmp_path / "bin").mkdir()
    wrapper = tmp_path / "bin" / "composer"
    wrapper.write_text(f'#!/bin/sh\nPYTHONPATH={REPO} exec {sys.executable} -m composer.cli.main "$@"\n')
    wrapper.chmod(0o755)
    return tmp_path


@pytest.fixture(params=["bash", "zsh", "fish"])
def shell(request: pytest.FixtureRequest, workspace: Path) -> Iterator[tuple[str, Tmux]]:
    name = request.param
    assert shutil.which(name), f"{name} is required (.ci/setup installs it)"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE", "DOCKER_", "PYTHON"))}
    env.update(HOME=str(workspace / "home"), PATH=f"{workspace / 'bin'}:{env['PATH']}", TERM="xterm")
    term = Tmux(env, f"compl-{name}")
    try:
        start, setup = SETUP[name]
        term.send_line(f"cd {workspace / 'project'} && {start}")
        term.send_line(setup)
        term.wait_for("READY-42")  # the output, not the echo of the typed line: the setup has run
        yield name, term
    finally:
        term.close()


def tab(term: Tmux, prompt: str, typed: str, expect: str, *, twice: bool = False) -> str:
    """Type `typed`, press TAB (twice for bash's listing), then `%` (the shell handles keys in order: it
    lands after the completion and shows its trailing space), and wait for `expect` + `%` on the screen."""
    term.send_keys("C-e", "C-u")  # empty the line (keys, not ^C: a signal would race the typing)
    term.clear()
    term.wait_for(prompt.rstrip())
    term.send_keys("-l", typed)
    term.send_keys("Tab")
    if twice:
        term.send_keys("Tab")
    else:
        term.send_keys("-l", "%")
        expect += "%"
    screen = ""

    def shown() -> bool:
        nonlocal screen
        screen = term.screen()
        return expect in screen

    try:
        wait_until(shown, 60, 0.1, f"{expect!r} after TAB")
    except AssertionError:
        raise AssertionError(f"{typed!r} + TAB did not show {expect!r}; screen:\n{screen}") from None
    return screen


def test_tab_completes_commands_flags_subcommands_and_services(shell: tuple[str, Tmux]) -> None:
    name, term = shell
    prompt = f"{name}$ "
    tab(term, prompt, "composer engi", f"{prompt}composer engine ")
    tab(term, prompt, "composer engine con", f"{prompt}composer engine context ")
    tab(term, prompt, "composer logs --fol", f"{prompt}composer logs --follow ")
    tab(term, prompt, "composer logs wo", f"{prompt}composer logs worker ")
    typed = "composer -f compose.yaml --profile x up d"
    tab(term, prompt, typed, f"{prompt}{typed}b ")
    tab(term, prompt, "composer completion fi", f"{prompt}composer completion fish ")
    if name == "bash":  # bash lists the candidates on a second TAB
        screen = tab(term, prompt, "composer exec ", "worker", twice=True)
        assert "db" in screen and "web" in screen
