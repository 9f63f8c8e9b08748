"""The built wheel installs and runs containers on a machine without a C compiler.

`python -m build` makes the sdist and the wheel (the wheel from the sdist, as pip does); the wheel goes into
a fresh venv, by pip (its dependencies are the system's: `--system-site-packages`, nothing downloaded) and by
pipx (a venv of its own, dependencies from the package index). The smoke
test then runs the venv's `composer` with a PATH whose `cc`/`gcc` only record that they were called and
fail: the engine must start, `up --wait` must run a container whose monitor is the wheel's prebuilt binary
(/proc/<monitor>/exe), and nothing may have tried to compile.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from composer.client import ping
from composer.embedded import places, stop_embedded_engine
from tests.support.engine import EngineProcess, UnixHTTPConnection

pytestmark = [pytest.mark.root, pytest.mark.e2e]

REPO = Path(__file__).resolve().parents[2]
PROJECT = (
    "name: wheel\nservices:\n  app:\n    image: busybox:latest\n    command: sleep 1000\n    init: true\n"
    "    healthcheck: {test: [CMD, 'true'], interval: 1s, retries: 30}\n"
)


def clean_env() -> dict[str, str]:
    """The environment without anything that points Python at another copy of composer."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "COMPOSE_", "PYTHON"))}


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(REPO)],
                          capture_output=True, text=True, timeout=600, env=clean_env())
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out


@pytest.fixture(scope="module", params=["pip", "pipx"])
def venv(request: pytest.FixtureRequest, dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel installed in a fresh venv: by pip into a venv seeing the system's packages (nothing
    downloaded), or by pipx into a venv of its own (dependencies from the package index)."""
    wheel = next(dist.glob("composer-*.whl"))
    root = tmp_path_factory.mktemp(request.param)
    if request.param == "pip":
        subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(root)],
                       check=True, timeout=120, env=clean_env())
        pip = [str(root / "bin" / "pip"), "install", "-q", "--no-index", "--disable-pip-version-check"]
        done = subprocess.run([*pip, str(wheel)], capture_output=True, text=True, timeout=300,
                              env=clean_env())
        assert done.returncode == 0, done.stderr
        return root
    env = {**clean_env(), "PIPX_HOME": str(root / "home"), "PIPX_BIN_DIR": str(root / "bin")}
    done = subprocess.run([sys.executable, "-m", "pipx", "install", str(wheel)], capture_output=True,
                          text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    installed = root / "home" / "venvs" / "composer"
    assert (root / "bin" / "composer").resolve() == (installed / "bin" / "composer").resolve()
    return installed


@pytest.fixture
def embedded_root() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="ce-whl-", dir="/tmp"))  # short: the socket path must fit
    yield root
    env = {"COMPOSER_ENGINE_ROOT": str(root)}
    if ping(places(env).host, env):  # a test that failed half-way: remove its containers
        EngineProcess(root).remove_all_containers()
    stop_embedded_engine(env)
    EngineProcess(root).cleanup()


def no_compiler_path(tmp: Path, venv: Path) -> tuple[str, Path]:
    """PATH with the venv first and `cc`/`gcc` that record the call and fail; the record file."""
    fake = tmp / "fakebin"
    fake.mkdir()
    record = tmp / "compiler-called"
    for name in ("cc", "gcc"):
        script = fake / name
        script.write_text(f"#!/bin/sh\necho \"$0 $*\" >> {record}\nexit 1\n")
        script.chmod(0o755)
    return f"{fake}:{venv / 'bin'}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", record


def test_wheel_is_platform_specific_and_carries_the_monitor(dist: Path) -> None:
    wheel = next(dist.glob("composer-*.whl"))
    assert wheel.name.startswith("composer-0.1.0-py3-none-linux_")
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.endswith("engine/runtime/native/cmon") for n in names)
    assert any(n.endswith("composer/loader/schemas/compose-spec.json") for n in names)
    assert next(dist.glob("composer-*.tar.gz"))


def test_installed_wheel_runs_a_project_without_a_compiler(
    venv: Path, embedded_root: Path, tmp_path: Path
) -> None:
    path, record = no_compiler_path(tmp_path, venv)
    env = clean_env()
    env.update(PATH=path, COMPOSER_ENGINE_ROOT=str(embedded_root))
    project = tmp_path / "project"
    project.mkdir()
    (project / "compose.yaml").write_text(PROJECT)

    def composer(*args: str) -> subprocess.CompletedProcess[str]:
        # run from the project dir, never the repository: the venv's package must be the one imported
        return subprocess.run(["composer", *args], cwd=project, env=env, capture_output=True, text=True,
                              timeout=120)

    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import engine; print(engine.__file__)"],
                           cwd=project, env=env, capture_output=True, text=True, check=True).stdout.strip()
    package = Path(where).parent
    assert package.is_relative_to(venv), where

    start = composer("engine", "start")
    assert start.returncode == 0, start.stderr
    assert start.stdout.startswith(f"Started the embedded engine at unix://{embedded_root}/e.sock")
    up = composer("up", "--wait")
    assert up.returncode == 0, up.stderr
    assert "Healthy" in up.stderr

    conn = UnixHTTPConnection(str(embedded_root / "e.sock"))
    conn.request("GET", "/containers/wheel-app-1/json")
    state = json.loads(conn.getresponse().read())["State"]
    conn.close()
    monitor = _parent(state["Pid"])
    assert os.readlink(f"/proc/{monitor}/exe") == str(package / "runtime" / "native" / "cmon")
    assert not record.exists(), record.read_text()
    assert not list((embedded_root / "exec" / "native").glob("cmon-*"))  # nothing built at run time

    # the installed package as the docker CLI's compose plugin: the entry point runs the venv's Python
    env["DOCKER_CONFIG"] = str(tmp_path / "dockercfg")
    assert composer("plugin", "install").returncode == 0
    entry = (tmp_path / "dockercfg" / "cli-plugins" / "docker-compose").read_text()
    assert f"exec {venv}/bin/python" in entry, entry
    via_docker = subprocess.run(["/usr/local/bin/docker", "compose", "ps", "-q"], cwd=project, env=env,
                                capture_output=True, text=True, timeout=60)
    assert via_docker.returncode == 0 and len(via_docker.stdout.split()) == 1, via_docker

    down = composer("down", "-t", "0")
    assert down.returncode == 0, down.stderr
    assert composer("engine", "stop").returncode == 0


def test_engine_start_names_what_the_host_lacks(venv: Path, embedded_root: Path, tmp_path: Path) -> None:
    bare = tmp_path / "bin"  # a PATH without nft and mount: the engine must say so, with the fix
    bare.mkdir()
    env = clean_env()
    env.update(PATH=str(bare), COMPOSER_ENGINE_ROOT=str(embedded_root))
    done = subprocess.run([str(venv / "bin" / "composer"), "engine", "start"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith(
        "cannot run containers: `nft` is not installed (needed for published ports and bridge networks) "
        "(fix: install it: `apt-get install nftables`); cannot run containers: `mount` is not installed"
    ), done.stderr
    assert f"(hint: log: {embedded_root}/exec/engine.log)" in done.stderr


def _parent(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("PPid:"):
            return int(line.split()[1])
    raise AssertionError(f"no PPid for {pid}")
