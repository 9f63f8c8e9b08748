"""`composer watch` against a private engine: edits in a real project dir become what the container sees."""

from __future__ import annotations

import re
from pathlib import Path

import docker
import pytest

from tests.integration.watch.conftest import Start, read, sees, until

pytestmark = pytest.mark.root

SYNC = """\
name: w1
services:
  app:
    image: busybox:latest
    command: [sleep, "1000"]
    init: true
    scale: 2
    develop:
      watch:
        - {action: sync, path: ./src, target: /app, ignore: [skip/]}
        - action: sync+exec
          path: ./hook
          target: /hook
          exec: {command: [sh, -c, "cat /hook/n > /hook-ran"]}
"""


def test_sync_into_every_replica_deletes_and_ignores(
    start: Start, api: docker.APIClient, tmp_path: Path
) -> None:
    (tmp_path / "compose.yaml").write_text(SYNC)
    src = tmp_path / "src"
    (src / "skip").mkdir(parents=True)
    (tmp_path / "hook").mkdir()
    (src / "gone.txt").write_text("old\n")
    w = start("watch")
    w.expect("Watch enabled", timeout=60)
    replicas = ["w1-app-1", "w1-app-2"]
    (src / "a.txt").write_text("hello\n")
    (src / "sub").mkdir()
    (src / "sub" / "b.txt").write_text("deep\n")
    for c in replicas:
        until(sees(api, c, {"/app/a.txt": "hello\n", "/app/sub/b.txt": "deep\n"}))
    (src / "a.txt").write_text("again\n")
    (src / "gone.txt").write_text("x\n")
    w.expect("Synced service app")
    (src / "gone.txt").unlink()
    (src / ".a.txt.swp").write_text("editor noise\n")
    (src / "skip" / "c.txt").write_text("ignored by the rule\n")
    for c in replicas:
        until(sees(api, c, {"/app/a.txt": "again\n", "/app/gone.txt": None}))
        assert read(api, c, "/app/.a.txt.swp") is None
        assert read(api, c, "/app/skip/c.txt") is None
    # sync+exec: the command runs after the file arrived, in every replica
    (tmp_path / "hook" / "n").write_text("42\n")
    w.expect("Ran sh -c")
    for c in replicas:  # a slow writer may make two batches: the last one's exec has the whole file
        until(sees(api, c, {"/hook-ran": "42\n"}))


RESTART = """\
name: w2
services:
  app:
    build: .
    command: [sh, -c, "cat /etc/conf.txt; echo pid=$$$$; exec sleep 1000"]
    init: true
    develop:
      watch:
        - {action: sync+restart, path: ./conf.txt, target: /etc/conf.txt}
        - {action: rebuild, path: ./layer.txt}
"""


def _pid(api: docker.APIClient, name: str) -> int:
    return int(api.inspect_container(name)["State"]["Pid"])


def test_restart_and_rebuild(start: Start, api: docker.APIClient, tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM busybox:latest\nCOPY layer.txt /layer.txt\n")
    (tmp_path / "layer.txt").write_text("v1\n")
    (tmp_path / "conf.txt").write_text("first\n")
    (tmp_path / "compose.yaml").write_text(RESTART)
    w = start("watch")
    w.expect("Watch enabled", timeout=120)
    first_pid = _pid(api, "w2-app-1")
    first_id = api.inspect_container("w2-app-1")["Id"]
    (tmp_path / "conf.txt").write_text("second\n")
    w.expect("Restarted service app")
    assert read(api, "w2-app-1", "/etc/conf.txt") == "second\n"
    assert _pid(api, "w2-app-1") != first_pid
    assert api.inspect_container("w2-app-1")["Id"] == first_id  # restarted, not recreated
    old_image = api.inspect_image("w2-app")
    (tmp_path / "layer.txt").write_text("v2\n")
    w.expect("Service app rebuilt and recreated", timeout=120)
    new_image = api.inspect_image("w2-app")
    assert new_image["Id"] != old_image["Id"]
    assert new_image["RootFS"]["Layers"][-1] != old_image["RootFS"]["Layers"][-1]
    assert api.inspect_container("w2-app-1")["Id"] != first_id
    assert read(api, "w2-app-1", "/layer.txt") == "v2\n"
    # a failing rebuild keeps the running container and says why
    running = api.inspect_container("w2-app-1")["Id"]
    (tmp_path / "Dockerfile").write_text("FROM busybox:latest\nRUN exit 3\nCOPY layer.txt /layer.txt\n")
    (tmp_path / "layer.txt").write_text("v3\n")
    w.expect("failed, the running container is kept", timeout=120)
    state = api.inspect_container("w2-app-1")
    assert state["Id"] == running and state["State"]["Running"]


PROJECT = """\
name: w3
services:
  app:
    image: busybox:latest
    init: true
    command: [sh, -c, "echo mode=$$MODE; exec sleep 1000"]
    environment: {MODE: one}
    develop:
      watch:
        - {action: sync, path: ./src, target: /app, initial_sync: true}
  other:
    image: busybox:latest
    command: [sleep, "1000"]
    init: true
"""


def _env(api: docker.APIClient, name: str) -> list[str]:
    """The container's environment; [] while it is being recreated (briefly absent)."""
    try:
        return list(api.inspect_container(name)["Config"]["Env"] or [])
    except docker.errors.NotFound:
        return []


def test_initial_sync_and_project_file_reapply(start: Start, api: docker.APIClient, tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "early.txt").write_text("before watching\n")
    (tmp_path / "compose.yaml").write_text(PROJECT)
    # `other` already runs, and this `up` leaves it alone: ending the `up` does not stop it
    assert start("up", "-d", "other").proc.wait(timeout=60) == 0
    w = start("up", "--watch")
    w.expect("mode=one", timeout=60)
    w.expect("Watch enabled", timeout=60)
    until(lambda: read(api, "w3-app-1", "/app/early.txt") == "before watching\n")
    app_id = api.inspect_container("w3-app-1")["Id"]
    other_id = api.inspect_container("w3-other-1")["Id"]
    # an invalid edit is reported with its place and changes nothing
    invalid = PROJECT.replace("MODE: one}", "MODE: one}\n    privileged: maybe")
    assert invalid != PROJECT
    (tmp_path / "compose.yaml").write_text(invalid)
    line = w.expect("Project file not applied")
    assert "compose.yaml" in line
    assert api.inspect_container("w3-app-1")["Id"] == app_id
    assert api.inspect_container("w3-other-1")["Id"] == other_id
    # a valid one recreates only the changed service and starts a new one
    edited = (
        PROJECT.replace("MODE: one", "MODE: two")
        + "  extra:\n    image: busybox:latest\n    command: [sleep, '1000']\n    init: true\n"
    )
    (tmp_path / "compose.yaml").write_text(edited)
    assert "app, extra" in w.expect("Project file re-applied")
    if not any("app-1" in line and "mode=two" in line for line in w.seen):
        w.expect("mode=two")  # the recreated container's logs keep streaming
    app = api.inspect_container("w3-app-1")
    assert app["Id"] != app_id and "MODE=two" in app["Config"]["Env"]
    assert api.inspect_container("w3-other-1")["Id"] == other_id
    assert api.inspect_container("w3-extra-1")["State"]["Running"]
    # watching continues on the recreated container, and its logs keep streaming
    (tmp_path / "src" / "late.txt").write_text("after recreate\n")
    until(lambda: read(api, "w3-app-1", "/app/late.txt") == "after recreate\n")
    # a removed service stops; `.env` is watched too
    (tmp_path / ".env").write_text("MODE=three\n")
    (tmp_path / "compose.yaml").write_text(PROJECT.replace("MODE: one", 'MODE: "${MODE}"'))
    until(lambda: not api.containers(all=True, filters={"name": "w3-extra-1"}))
    until(lambda: "MODE=three" in _env(api, "w3-app-1"))
    (tmp_path / ".env").write_text("MODE=four\n")
    until(lambda: "MODE=four" in _env(api, "w3-app-1"))
    assert api.inspect_container("w3-other-1")["Id"] == other_id
    # as attached `up`: ending it stops what it started (the recreated app too), not what ran before it
    assert w.stop() == 130
    assert not api.inspect_container("w3-app-1")["State"]["Running"]
    assert api.inspect_container("w3-other-1")["State"]["Running"]


BURST = """\
name: w4
services:
  app:
    image: busybox:latest
    command: [sleep, "1000"]
    init: true
    develop:
      watch:
        - {action: sync, path: ./src, target: /app}
"""


def test_a_burst_of_500_files_is_one_sync(start: Start, api: docker.APIClient, tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "compose.yaml").write_text(BURST)
    w = start("watch")
    w.expect("Watch enabled", timeout=60)
    for i in range(500):
        (tmp_path / "src" / f"f{i:03}.txt").write_text(f"{i}\n")
    syncs = [w.expect("Synced service app")]
    while sum(_changed(line) for line in syncs) < 500:
        syncs.append(w.expect("Synced service app"))
    assert read(api, "w4-app-1", "/app/f499.txt") == "499\n"
    w.stop()
    rest = []
    while not w.lines.empty():
        rest.append(w.lines.get())
    assert not [line for line in rest if "Synced" in line], rest
    # One sync on an idle machine; a batch closes after 30 ms without events, so a writer the scheduler pauses
    # longer than that (a loaded CI machine) splits the burst, into a few batches but never per file.
    assert len(syncs) <= 5, syncs


def _changed(line: str) -> int:
    """The file count of a "Synced service app (N changed)" line."""
    found = re.search(r"(\d+) changed", line)
    assert found, line
    return int(found[1])


NO_INOTIFY = (
    "unshare",
    "--user",
    "--map-root-user",
    "sh",
    "-c",
    'echo 0 > /proc/sys/user/max_inotify_instances && exec "$@"',
    "sh",
)


def test_polling_when_inotify_is_unavailable(start: Start, api: docker.APIClient, tmp_path: Path) -> None:
    """A user namespace whose inotify instance limit is 0: the watcher says so and polls."""
    (tmp_path / "src").mkdir()
    (tmp_path / "compose.yaml").write_text(BURST.replace("w4", "w5"))
    w = start("watch", prefix=NO_INOTIFY)
    assert "polling" in w.expect("inotify unavailable", timeout=60)
    w.expect("Watch enabled (polling)")
    (tmp_path / "src" / "p.txt").write_text("polled\n")
    until(sees(api, "w5-app-1", {"/app/p.txt": "polled\n"}))
