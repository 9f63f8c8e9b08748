"""Upgrade in place: an engine installed from a wheel into a venv runs a container; the engine is stopped, the
package replaced by another version (a second wheel built from this checkout), the engine started again from
the same place: the running container is re-adopted (same process, not restarted), its log goes on without
a gap, and exec works. The two versions differ in their version string, which /version reports, so the test
knows which code answers."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.engine import EngineProcess, new_engine

pytestmark = pytest.mark.root

CHECKOUT = Path(__file__).resolve().parents[3]
COUNTER = ["sh", "-c", "i=0; while true; do echo line $i; i=$((i+1)); sleep 0.1; done"]


def _wheel(version: str, work: Path) -> Path:
    """A wheel of this checkout's tracked files with `version` in the metadata and engine.__version__."""
    src = work / f"src-{version}"
    files = subprocess.run(
        ["git", "ls-files", "-z"], cwd=CHECKOUT, capture_output=True, check=True
    ).stdout.split(b"\0")
    for name in filter(None, (f.decode() for f in files)):
        if (CHECKOUT / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(CHECKOUT / name, src / name)
    for rel, old, new in (
        ("pyproject.toml", 'version = "0.1.0"', f'version = "{version}"'),
        ("engine/__init__.py", '__version__ = "0.1.0"', f'__version__ = "{version}"'),
    ):
        text = (src / rel).read_text()
        assert old in text, f"{rel} no longer holds {old}"
        (src / rel).write_text(text.replace(old, new))
    out = work / "wheels"
    pip = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"]
    built = subprocess.run([*pip, "-w", str(out), str(src)], capture_output=True, text=True)
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = out.glob(f"composer-{version}-*.whl")
    return wheel


def _install(env_dir: Path, wheel: Path) -> None:
    done = subprocess.run(
        [str(env_dir / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall",
         "--disable-pip-version-check", str(wheel)],
        capture_output=True,
        text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[tuple[EngineProcess, Path]]:
    env_dir = tmp_path / "venv"
    # the dependencies come from the system's site-packages: the venv holds only our package
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(env_dir)
    subprocess.run(
        [str(env_dir / "bin" / "python"), "-c", "import pip"], check=True, capture_output=True
    )  # pip from the system site, run by the venv's interpreter, installs into the venv
    eng = new_engine()
    # without the checkout on PYTHONPATH (tests/conftest.py): the engine is the one installed in the venv
    eng.command = ("env", "-u", "PYTHONPATH", str(env_dir / "bin" / "composer-engine"))
    try:
        yield eng, env_dir
    finally:
        eng.cleanup()


def _log_lines(eng: EngineProcess, cid: str) -> list[str]:
    body = eng.request("GET", f"/containers/{cid}/logs?stdout=1").body
    lines, pos = [], 0
    while pos < len(body):
        size = int.from_bytes(body[pos + 4 : pos + 8], "big")
        lines += body[pos + 8 : pos + 8 + size].decode().splitlines()
        pos += 8 + size
    return lines


def _exec(eng: EngineProcess, cid: str, cmd: list[str]) -> bytes:
    eid = eng.json("POST", f"/containers/{cid}/exec", {"Cmd": cmd, "AttachStdout": True, "Tty": True})["Id"]
    r = eng.request("POST", f"/exec/{eid}/start", {"Detach": False, "Tty": True})
    assert r.status == 200, r.body
    return r.body


def test_upgrade_keeps_containers(engine: tuple[EngineProcess, Path], tmp_path: Path) -> None:
    eng, env_dir = engine
    old, new = _wheel("0.1.0+before", tmp_path), _wheel("0.1.0+after", tmp_path)
    _install(env_dir, old)
    eng.start()
    assert eng.json("GET", "/version")["Version"] == "0.1.0+before"
    eng.import_busybox()
    cid = eng.run(COUNTER, HostConfig={"NetworkMode": "none"})
    time.sleep(0.5)
    state = eng.json("GET", f"/containers/{cid}/json")["State"]

    assert eng.stop() == 0
    _install(env_dir, new)
    time.sleep(0.5)  # the container keeps writing while no engine runs
    eng.start()
    assert eng.json("GET", "/version")["Version"] == "0.1.0+after"

    after = eng.json("GET", f"/containers/{cid}/json")["State"]
    assert after["Running"] and (after["Pid"], after["StartedAt"]) == (state["Pid"], state["StartedAt"])
    time.sleep(0.5)
    lines = _log_lines(eng, cid)
    numbers = [int(line.split()[1]) for line in lines]
    assert numbers == list(range(len(numbers))), "the log has a gap or a repeat across the upgrade"
    assert len(numbers) >= 10  # it went on while the engine was away and after
    assert _exec(eng, cid, ["echo", "exec-after-upgrade"]).strip() == b"exec-after-upgrade"
    assert eng.request("POST", f"/containers/{cid}/stop?t=1").status == 204
    assert eng.json("GET", f"/containers/{cid}/json")["State"]["Status"] == "exited"
