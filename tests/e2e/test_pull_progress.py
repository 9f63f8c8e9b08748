"""`composer pull` progress as Docker Compose 2.40 shows it: on a real terminal (tmux) one frame redrawn in
place, a line per service and per layer with the elapsed time at the right edge; plain lines when stderr is
not a terminal; `--progress json` lines. The plain and json forms are compared with the reference binary's
on the same engine and registry."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.helpers import Tmux
from tests.support.engine import EngineProcess, running_engine
from tests.support.reference import reference_binary
from tests.support.registry import Registry, running_registry

pytestmark = [pytest.mark.e2e, pytest.mark.root]

REPO = Path(__file__).resolve().parents[2]
WIDTH = 100


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EngineProcess, str, Path]]:
    """An engine, a registry holding a three-layer image (busybox + 3 MB + a small file), a project whose
    two services use it."""
    with running_engine() as eng, running_registry(tmp_path_factory.mktemp("reg")) as reg:
        ref = _image(eng, reg, tmp_path_factory.mktemp("ctx"))
        project = tmp_path_factory.mktemp("proj")
        services = f"services:\n  web: {{image: {ref}}}\n  api: {{image: {ref}}}\n"
        (project / "compose.yaml").write_text(services)
        yield eng, ref, project


def _image(eng: EngineProcess, reg: Registry, ctx: Path) -> str:
    import docker

    ref = f"{reg.host}/demo/app:1"
    (ctx / "Dockerfile").write_text(
        "FROM busybox\nRUN head -c 3000000 /dev/urandom > /big\nRUN echo hi > /small\n"
    )
    api = docker.APIClient(base_url=eng.docker_host, version="1.41")
    try:
        for item in api.build(path=str(ctx), tag=ref, decode=True):
            assert "error" not in item, item
        for item in api.push(ref.rsplit(":", 1)[0], tag="1", stream=True, decode=True):
            assert "error" not in item, item
        api.remove_image(ref)
    finally:
        api.close()
    return ref


def _env(eng: EngineProcess, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "COMPOSE_", "PYTHON"))}
    env.update(DOCKER_HOST=eng.docker_host, DOCKER_CONFIG=str(tmp_path), PYTHONPATH=str(REPO))
    return env


def _forget(eng: EngineProcess, ref: str) -> None:
    """Remove the image, keeping busybox (its layer is then "Already exists" for both tools)."""
    eng.request("DELETE", f"/images/{ref}")


def _run(argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=120)


def _normalized(lines: list[str], services: tuple[str, str]) -> list[str]:
    """Which service pulls and which is skipped is a race in both tools: name them by role."""
    def pulled(s: str) -> bool:
        return any(line.startswith((f" {s} Pulled", f'{{"id":"{s}","text":"Pulled"')) for line in lines)

    puller = next(s for s in services if pulled(s))
    other = services[1] if puller == services[0] else services[0]
    out = [line.replace(f"pulled by {puller}", "pulled by PULLER") for line in lines]
    out = [re.sub(rf'(^ |"){re.escape(puller)}\b', r"\1PULLER", line) for line in out]
    out = [re.sub(rf'(^ |"){re.escape(other)}\b', r"\1OTHER", line) for line in out]
    return sorted(out)


def test_plain_and_json_match_the_reference(setup: tuple[EngineProcess, str, Path], tmp_path: Path) -> None:
    eng, ref, project = setup
    reference = reference_binary()
    assert reference, "the reference docker-compose binary is required"
    env = _env(eng, tmp_path)
    for mode in ("plain", "json"):
        _forget(eng, ref)
        theirs = _run([str(reference), "--progress", mode, "pull"], env, project)
        _forget(eng, ref)
        ours = _run([sys.executable, "-m", "composer.cli.main", "--progress", mode, "pull"], env, project)
        assert theirs.returncode == 0 and ours.returncode == 0, (theirs.stderr, ours.stderr)
        assert ours.stdout == theirs.stdout == ""  # progress is on stderr
        # downloads report their bytes in chunks of the engine's choosing: compare every other line
        def steady(text: str) -> list[str]:
            return [line for line in text.splitlines() if "Downloading" not in line]

        assert _normalized(steady(ours.stderr), ("web", "api")) == _normalized(steady(theirs.stderr),
                                                                              ("web", "api"))
        if mode == "json":
            assert all(json.loads(line)["id"] for line in ours.stderr.splitlines())
            assert "\\u003e" in ours.stderr  # '>' escaped as Go's encoder does
    # not a terminal and no --progress: plain lines
    _forget(eng, ref)
    auto = _run([sys.executable, "-m", "composer.cli.main", "pull"], env, project)
    assert " Pulling \n" in auto.stderr and "\x1b[" not in auto.stderr


def test_terminal_shows_one_frame_with_layers_and_timers(
    setup: tuple[EngineProcess, str, Path], tmp_path: Path
) -> None:
    eng, ref, project = setup
    _forget(eng, ref)
    term = Tmux(_env(eng, tmp_path), "pull")
    try:
        term._tmux("resize-window", "-t", "main", "-x", str(WIDTH), "-y", "30")
        term.send_line(f"cd {project} && {sys.executable} -m composer.cli.main pull; echo EXIT=$?")
        term.wait_for("EXIT=0")
        screen = term.screen()
    finally:
        term.close()
    lines = [line for line in screen.splitlines() if line.strip()]
    assert sum("[+] Pulling" in line for line in lines) == 1, screen  # redrawn in place, never scrolled
    start = next(i for i, line in enumerate(lines) if line.startswith("[+] Pulling"))
    frame = lines[start + 1 : start + 6]
    assert lines[start] == "[+] Pulling 5/5", screen
    timer = re.compile(r"\d+\.\ds$")
    for line in frame:  # each line ends with its timer at the right edge (then one space, trimmed)
        assert timer.search(line) and len(line) == WIDTH - 1, (line, len(line))
    texts = [timer.sub("", line).rstrip() for line in frame]
    parents = [t for t in texts if t.startswith(" ✔ ")]
    layers = [t for t in texts if t.startswith("   ✔ ")]
    assert len(parents) == 2 and len(layers) == 3, screen
    assert any(re.fullmatch(r" ✔ (web|api) Pulled", t) for t in parents)
    assert any(re.fullmatch(r" ✔ (web|api) Skipped - Image is already being pulled by (web|api)", t)
               for t in parents)
    assert all(re.fullmatch(r"   ✔ [0-9a-f]{12} (Pull complete|Already exists)", t) for t in layers), layers
    assert sum(t.endswith("Pull complete") for t in layers) == 2



def test_push_lines_match_the_reference(setup: tuple[EngineProcess, str, Path], tmp_path: Path) -> None:
    """Each pushed layer is its own line "Pushing <ref>: <layer>"; a service that is not built is Skipped.
    Each tool pushes to a repository of its own, so both upload every layer."""
    eng, ref, _ = setup
    reference = reference_binary()
    assert reference, "the reference docker-compose binary is required"
    env = _env(eng, tmp_path)
    registry = ref.split("/", 1)[0]
    outputs = {}
    for tool, argv in (("ours", [sys.executable, "-m", "composer.cli.main"]), ("theirs", [str(reference)])):
        target = f"{registry}/demo/{tool}:1"
        project = tmp_path / tool
        project.mkdir()
        (project / "Dockerfile").write_text("FROM busybox\nRUN echo pushed > /p\n")
        (project / "compose.yaml").write_text(
            f"services:\n  app: {{build: ., image: {target}}}\n  other: {{image: busybox}}\n")
        built = _run([*argv, "build"], {**env, "DOCKER_BUILDKIT": "0"}, project)
        assert built.returncode == 0, built.stderr
        pushed = _run([*argv, "--progress", "plain", "push"], env, project)
        assert pushed.returncode == 0, pushed.stderr
        lines = [line.replace(target, "TARGET") for line in pushed.stderr.splitlines()
                 if "Pushing [" not in line and "level=warning" not in line]
        outputs[tool] = sorted(lines)
    assert outputs["ours"] == outputs["theirs"]
    assert " other Skipped " in outputs["ours"]
    assert any(line.endswith(" Pushed ") for line in outputs["ours"])


def test_up_and_down_frames_match_the_reference_on_a_terminal(
    setup: tuple[EngineProcess, str, Path], tmp_path: Path
) -> None:
    """The same project brought up and down by each tool on a terminal of the same size: the final frames
    read the same (elapsed times aside; lines of parallel steps in any order)."""
    eng, _, _ = setup
    reference = reference_binary()
    assert reference, "the reference docker-compose binary is required"
    project = tmp_path / "proj"
    project.mkdir()
    (project / "compose.yaml").write_text(
        "name: tu\nservices:\n  web: {image: busybox, command: sleep 100, init: true}\n"
        "  db: {image: busybox, command: sleep 100, init: true}\n")
    screens = {}
    for tool, argv in (("ours", f"{sys.executable} -m composer.cli.main"), ("theirs", str(reference))):
        term = Tmux(_env(eng, tmp_path), f"up-{tool}")
        try:
            term._tmux("resize-window", "-t", "main", "-x", str(WIDTH), "-y", "30")
            term.send_line(f"cd {project} && {argv} up -d && {argv} down -t 0; echo EXIT=$?")
            term.wait_for("EXIT=0")
            screens[tool] = term.screen()
        finally:
            term.close()

    def frames(screen: str) -> list[list[str]]:
        lines = [re.sub(r"\d+\.\ds$", "T", line) for line in screen.splitlines() if line.strip()]
        starts = [i for i, line in enumerate(lines) if line.startswith("[+] ")]
        return [[lines[i], *sorted(lines[i + 1 : i + 4])] for i in starts]

    assert frames(screens["ours"]) == frames(screens["theirs"]), (screens["ours"], screens["theirs"])
    assert len(frames(screens["ours"])) == 2


def test_what_is_not_pulled_says_why_as_the_reference(
    setup: tuple[EngineProcess, str, Path], tmp_path: Path
) -> None:
    eng, _, _ = setup
    reference = reference_binary()
    assert reference, "the reference docker-compose binary is required"
    (tmp_path / "Dockerfile").write_text("FROM busybox\n")
    (tmp_path / "compose.yaml").write_text(
        "services:\n  built: {build: .}\n  never: {image: busybox, pull_policy: never}\n"
        "  here: {image: 'localhost:5999/here:1', pull_policy: missing}\n")  # (latest is pulled anyway)
    assert eng.request("POST", "/images/busybox:latest/tag?repo=localhost:5999/here&tag=1").status == 201
    env = _env(eng, tmp_path)
    ours = _run([sys.executable, "-m", "composer.cli.main", "--progress", "plain", "pull"], env, tmp_path)
    theirs = _run([str(reference), "--progress", "plain", "pull"], env, tmp_path)
    assert ours.returncode == theirs.returncode == 0, (ours.stderr, theirs.stderr)
    assert sorted(ours.stderr.splitlines()) == sorted(theirs.stderr.splitlines()) == [
        " built Skipped - No image to be pulled ",
        " here Skipped - Image is already present locally ",
        " never Skipped ",
    ]
