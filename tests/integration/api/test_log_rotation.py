"""Daemon-wide log defaults (`--log-opt`, daemon.json `log-opts`) as dockerd takes them: merged into a new
container's LogConfig at create (inspect shows them), rotation by max-size/max-file, and `docker logs` and
`composer logs` reading across the rotated files, following included."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.dockerd import DOCKER
from tests.support.engine import EngineProcess, running_engine

pytestmark = pytest.mark.root

# ~10 ms a line: a 2k file (about 30 entries) rotates every ~0.3 s and the three files hold ~0.9 s of output,
# so a follower looking every 100 ms keeps up even on a loaded machine (a reader that falls further behind
# than the max-file window loses lines to rotation, in dockerd too)
# The writer says its first line, then waits for /tmp/go: the test makes it once the follower has shown
# that line, so the follower is reading before any rotation, however slowly it started.
WRITER = (
    "echo line 1; until [ -e /tmp/go ]; do usleep 10000; done; "
    "i=2; while [ $i -le {n} ]; do echo line $i; i=$((i+1)); usleep 10000; done"
)


@pytest.fixture(scope="module")
def engine() -> Iterator[EngineProcess]:
    with running_engine(extra_args=("--log-opt", "max-size=2k", "--log-opt", "max-file=3")) as eng:
        eng.run_host_config = {"NetworkMode": "none"}
        yield eng


def _docker(eng: EngineProcess, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DOCKER_HOST": eng.docker_host}
    return subprocess.run([DOCKER, *args], env=env, capture_output=True, text=True, timeout=60)


def _log_files(eng: EngineProcess, cid: str) -> list[Path]:
    return sorted((eng.data_root / "containers" / cid).glob(f"{cid}-json.log*"))


def _entries(files: list[Path]) -> int:
    return sum(len(f.read_bytes().splitlines()) for f in files)


def test_daemon_defaults_are_merged_at_create(engine: EngineProcess) -> None:
    cid = engine.run(["true"])
    log_config = engine.json("GET", f"/containers/{cid}/json")["HostConfig"]["LogConfig"]
    assert log_config == {"Type": "json-file", "Config": {"max-size": "2k", "max-file": "3"}}
    # the container's own options win, the missing ones come from the daemon
    own = engine.run(["true"], HostConfig={"LogConfig": {"Type": "json-file", "Config": {"max-size": "1m"}}})
    assert engine.json("GET", f"/containers/{own}/json")["HostConfig"]["LogConfig"]["Config"] == {
        "max-size": "1m",
        "max-file": "3",
    }
    none = engine.run(["true"], HostConfig={"LogConfig": {"Type": "none"}})
    assert engine.json("GET", f"/containers/{none}/json")["HostConfig"]["LogConfig"] == {
        "Type": "none",
        "Config": {},
    }
    bad = engine.request(
        "POST",
        "/containers/create",
        {"Image": "busybox", "Cmd": ["true"], "HostConfig": {"LogConfig": {"Config": {"max-sise": "1k"}}}},
    )
    assert (bad.status, bad.message) == (400, "unknown log opt 'max-sise' for json-file log driver")


def test_rotation_and_reading_across_files(engine: EngineProcess) -> None:
    cid = engine.run(["sh", "-c", WRITER.format(n=300)])
    follow = subprocess.Popen(
        [DOCKER, "logs", "-f", cid],
        env={**os.environ, "DOCKER_HOST": engine.docker_host},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert follow.stdout is not None
    first = follow.stdout.readline()  # following now
    eid = engine.json("POST", f"/containers/{cid}/exec", {"Cmd": ["touch", "/tmp/go"]})["Id"]
    engine.request("POST", f"/exec/{eid}/start", {"Detach": True})
    rest, _ = follow.communicate(timeout=120)
    followed = first + rest
    assert engine.json("POST", f"/containers/{cid}/wait")["StatusCode"] == 0
    # followed from before the first line: every line, in order, across every rotation
    assert followed.splitlines() == [f"line {i}" for i in range(1, 301)]

    files = _log_files(engine, cid)
    assert [f.name.removeprefix(f"{cid}-json.log") for f in files] == ["", ".1", ".2"]  # max-file=3
    assert all(f.stat().st_size <= 2048 for f in files)
    kept = _entries(files)
    assert 30 < kept < 300  # three files of 2k: the oldest lines are gone
    # docker logs reads the rotated files oldest first, then the current one: the newest `kept` lines
    out = _docker(engine, "logs", cid)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [f"line {i}" for i in range(301 - kept, 301)]
    tail = _docker(engine, "logs", "--tail", "50", cid).stdout.splitlines()
    assert tail == [f"line {i}" for i in range(251, 301)]


def test_composer_logs_reads_rotated_files(engine: EngineProcess, tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(
        "services:\n"
        "  talk:\n"
        "    image: busybox:latest\n"
        "    network_mode: none\n"
        f"    command: [sh, -c, '{WRITER.format(n=200).replace('$', '$$')}']\n"  # $$: no interpolation
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "DOCKER_"))}
    env["DOCKER_HOST"] = engine.docker_host
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[3])  # this checkout's composer

    def composer(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "composer.cli.main", "-p", "rot", *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert composer("up", "-d").returncode == 0
    follow = subprocess.Popen(
        [sys.executable, "-m", "composer.cli.main", "-p", "rot", "logs", "-f", "--no-log-prefix", "talk"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert follow.stdout is not None
    first = follow.stdout.readline()  # following now
    assert composer("exec", "-T", "talk", "touch", "/tmp/go").returncode == 0
    rest, err = follow.communicate(timeout=120)
    assert follow.returncode == 0, err
    assert (first + rest).splitlines() == [f"line {i}" for i in range(1, 201)]
    (row,) = map(json.loads, composer("ps", "-a", "--no-trunc", "--format", "json").stdout.splitlines())
    kept = _entries(_log_files(engine, row["ID"]))
    assert len(_log_files(engine, row["ID"])) == 3 and kept < 200
    logs = composer("logs", "--no-log-prefix", "talk")
    assert logs.stdout.splitlines() == [f"line {i}" for i in range(201 - kept, 201)]
    assert composer("down").returncode == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--log-opt", "max-sise=1k"), "unknown log opt 'max-sise' for json-file log driver"),
        (("--log-opt", "max-size=lots"), "invalid size: 'lots'"),
        (("--log-opt", "max-file=0"), "max-file cannot be less than 1"),
        (("--log-opt", "compress=true"), "log opt 'compress' is not supported by this engine's json-file"),
        (("--log-driver", "syslog"), "logger: no log driver named 'syslog' is registered"),
    ],
)
def test_bad_daemon_log_options_refuse_to_start(args: tuple[str, ...], message: str, tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "engine.daemon", "-H", f"unix://{tmp_path}/s.sock", "--data-root",
         f"{tmp_path}/d", "--exec-root", f"{tmp_path}/x", *args],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert r.returncode == 2
    assert r.stderr.startswith(f"composer-engine: failed to set log opts: {message}"), r.stderr


def test_daemon_json_log_opts(tmp_path: Path) -> None:
    cfg = tmp_path / "daemon.json"
    cfg.write_text(json.dumps({"log-driver": "json-file", "log-opts": {"max-size": "5k", "max-file": "2"}}))
    with running_engine(extra_args=("--config-file", str(cfg))) as eng:
        cid = eng.run(["true"], HostConfig={"NetworkMode": "none"})
        assert eng.json("GET", f"/containers/{cid}/json")["HostConfig"]["LogConfig"] == {
            "Type": "json-file",
            "Config": {"max-size": "5k", "max-file": "2"},
        }
