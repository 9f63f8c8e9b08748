"""The pure parts of the daemon half (no root, no engine): config, filters, policies, normalization."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine import config
from engine.api.params import timestamp_ns
from engine.containers import create, etcfiles, health, mounts, restart
from engine.containers.archive_helper import GO_DIR, GO_SYMLINK, go_mode
from engine.containers.inspect import status_text
from engine.containers.logs import LogOptions, read_existing
from engine.containers.model import Container, Health, State
from engine.errors import InvalidParameter
from engine.events import Event, EventFilter


def test_config_flags_over_file(tmp_path: Path) -> None:
    f = tmp_path / "daemon.json"
    f.write_text(
        json.dumps(
            {
                "hosts": ["unix:///a.sock"],
                "data-root": "/d",
                "debug": True,
                "runtimes": {"fast": {"path": "/usr/bin/fast"}},
                "default-runtime": "fast",
            }
        )
    )
    cfg = config.parse(["--config-file", str(f), "--data-root", "/other", "-H", "unix:///b.sock"])
    assert cfg.hosts == ("unix:///b.sock",) and cfg.data_root == Path("/other") and cfg.debug
    assert cfg.runtime_binary() == "/usr/bin/fast" and cfg.pid_path == config.DEFAULT_EXEC_ROOT / "engine.pid"
    assert config.parse([]).runtime_binary() is None
    with pytest.raises(config.ConfigError, match="socket path too long"):
        config.parse(["-H", "unix://" + "/x" * 60])
    with pytest.raises(config.ConfigError, match="unknown runtime"):
        config.parse(["--runtime", "nope"])


def test_event_filters() -> None:
    ev = Event("container", "die", "abc123", {"name": "web", "image": "busybox:latest", "tier": "db"}, 1)
    assert EventFilter({"type": ("container",), "event": ("die",)}).matches(ev)
    assert EventFilter({"container": ("web",)}).matches(ev) and EventFilter({"container": ("abc",)}).matches(
        ev
    )
    assert EventFilter({"image": ("busybox",)}).matches(ev)
    assert EventFilter({"label": ("tier=db",)}).matches(ev) and not EventFilter(
        {"label": ("tier=x",)}
    ).matches(ev)
    assert not EventFilter({"type": ("image",)}).matches(ev)
    hs = Event("container", "health_status: healthy", "abc", {}, 1)
    assert EventFilter({"event": ("health_status",)}).matches(hs)


def _container(**hc: object) -> Container:
    return Container(
        id="c" * 64,
        name="n",
        created="",
        image_id="",
        image_name="",
        config={},
        host_config=dict(hc),
        path="true",
        args=(),
        state=State(status="exited", exit_code=1),
    )


def test_restart_policies_and_backoff() -> None:
    assert restart.should_restart(_container(RestartPolicy={"Name": "always"}), 100)
    assert not restart.should_restart(_container(RestartPolicy={"Name": "no"}), 0)
    limited = _container(RestartPolicy={"Name": "on-failure", "MaximumRetryCount": 2})
    assert restart.should_restart(limited, 1) and not restart.should_restart(limited, 2)
    assert restart.next_delay(0, 0) == 0.1 and restart.next_delay(0.1, 1) == 0.2
    assert restart.next_delay(0.4, 11) == 0.1 and restart.next_delay(50, 1) == 60


def test_health_transitions() -> None:
    h = Health()
    assert health.next_health(h, 1, True, 3) == h  # start period: not counted
    h = health.next_health(h, 1, False, 2)
    assert h.status == "starting" and h.failing_streak == 1
    h = health.next_health(h, 1, False, 2)
    assert h.status == "unhealthy"
    assert health.next_health(h, 0, False, 2).status == "healthy"
    assert health.probe_command(["CMD-SHELL", "x y"]) == ["/bin/sh", "-c", "x y"]
    assert health.probe_command(["NONE"]) is None
    assert health.settings({})["Interval"] == 30 and health.settings({"Retries": 5})["Retries"] == 5


def test_merge_config_entrypoint_resets_image_cmd() -> None:
    image = {"config": {"Entrypoint": ["/ep"], "Cmd": ["x"], "Env": ["A=1", "B=2"], "Labels": {"l": "1"}}}
    c = create.merge_config({"Image": "i", "Env": ["B=3"]}, image, "f" * 64)
    assert c["Entrypoint"] == ["/ep"] and c["Cmd"] == ["x"] and c["Env"] == ["A=1", "B=3"]
    assert c["Hostname"] == "f" * 12 and c["Labels"] == {"l": "1"}
    c = create.merge_config({"Image": "i", "Entrypoint": ["/other"]}, image, "f" * 64)
    assert c["Entrypoint"] == ["/other"] and c["Cmd"] is None
    with pytest.raises(InvalidParameter, match="no command"):
        create.merge_config({"Image": "i"}, {"config": {}}, "f" * 64)


def test_host_config_defaults_and_checks() -> None:
    hc = create.normalize_host_config({"NetworkMode": "default"})
    assert hc["NetworkMode"] == "bridge" and hc["RestartPolicy"] == {"Name": "no", "MaximumRetryCount": 0}
    assert hc["ShmSize"] == 64 << 20 and hc["LogConfig"] == {"Type": "json-file", "Config": {}}
    for bad in (
        {"NanoCpus": 10**9, "CpuQuota": 1},
        {"RestartPolicy": {"Name": "always", "MaximumRetryCount": 1}},
        {"ExtraHosts": ["nocolon"]},
        {"LogConfig": {"Type": "syslog"}},
    ):
        with pytest.raises(InvalidParameter):
            create.normalize_host_config(bad)


def test_resolv_conf_filters_loopback_for_own_netns(tmp_path: Path) -> None:
    host = tmp_path / "resolv.conf"
    host.write_text("nameserver 127.0.0.53\nsearch lan\n")
    assert etcfiles.resolv_content({"NetworkMode": "bridge"}, host) == (
        "search lan\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n"
    )
    assert "127.0.0.53" in etcfiles.resolv_content({"NetworkMode": "host"}, host)
    assert etcfiles.resolv_content({"Dns": ["1.1.1.1"], "DnsSearch": ["x"]}, host) == (
        "nameserver 1.1.1.1\nsearch x\n"
    )


def test_bind_specs(tmp_path: Path) -> None:
    r = mounts.resolve({"Binds": [f"{tmp_path}:/data:ro,rshared"]}, {}, None)
    (p,) = r.mount_points
    assert p["RW"] is False and p["Propagation"] == "rshared" and p["Source"] == str(tmp_path)
    oci = mounts.oci_mounts(r.mount_points, {"/etc/hosts": tmp_path / "hosts"})
    assert oci[0]["options"] == ["rbind", "rshared", "ro"] and oci[1]["destination"] == "/etc/hosts"
    for bad in ([f"{tmp_path}:relative"], [f"{tmp_path}:/x:bogus"], [f"{tmp_path}:/"]):
        with pytest.raises(InvalidParameter):
            mounts.resolve({"Binds": bad}, {}, None)


def test_timestamps_and_status_text() -> None:
    assert timestamp_ns("1700000000.5", "since") == 1700000000_500000000
    assert timestamp_ns("2023-11-14T22:13:20Z", "since") == 1700000000 * 10**9
    with pytest.raises(InvalidParameter):
        timestamp_ns("yesterday", "since")
    c = _container()
    c = c.with_state(status="running", started_at="2023-11-14T22:13:20.000000000Z")
    assert status_text(c, 1700000000 + 125) == "Up 2 minutes"
    assert go_mode(0o40755) == GO_DIR | 0o755 and go_mode(0o120777) == GO_SYMLINK | 0o777


def test_logs_read_across_rotated_files(tmp_path: Path) -> None:
    log = tmp_path / "c-json.log"

    def line(text: str, stream: str = "stdout") -> str:
        return json.dumps({"log": text, "stream": stream, "time": "2024-01-01T00:00:00.000000001Z"}) + "\n"

    log.with_name("c-json.log.2").write_text(line("a\n"))
    log.with_name("c-json.log.1").write_text(line("b\n") + line("e\n", "stderr"))
    log.write_text(line("c\n") + '{"log": "torn')
    entries, end = read_existing(log, LogOptions())
    assert [e.data for e in entries] == [b"a\n", b"b\n", b"e\n", b"c\n"]
    assert end is not None and end[1] == len(line("c\n"))
    entries, _ = read_existing(log, LogOptions(stderr=False, tail=2))
    assert [e.data for e in entries] == [b"b\n", b"c\n"]


def test_follow_survives_several_rotations_between_looks(tmp_path: Path) -> None:
    import asyncio
    import os

    from engine.containers import logs as logmod

    log = tmp_path / "c-json.log"

    def line(i: int) -> bytes:
        return (
            json.dumps({"log": f"{i}\n", "stream": "stdout", "time": "2024-01-01T00:00:00Z"}).encode() + b"\n"
        )

    def rotate() -> None:  # as the json-file writer does with max-file 3
        for i in (2, 1):
            older = log.with_name(f"c-json.log.{i}")
            if older.exists():
                os.replace(older, log.with_name(f"c-json.log.{i + 1}"))
        os.replace(log, log.with_name("c-json.log.1"))

    log.write_bytes(line(0) + line(1))
    state = {"running": True}

    async def scenario() -> list[bytes]:
        existing, end = logmod.read_existing(log, logmod.LogOptions())
        got = [e.data for e in existing]

        async def writer() -> None:
            await asyncio.sleep(0.05)
            with open(log, "ab") as f:
                f.write(line(2))
            rotate()
            log.write_bytes(line(3))
            rotate()  # a second rotation before the follower looks again
            log.write_bytes(line(4))
            await asyncio.sleep(0.3)
            state["running"] = False

        task = asyncio.ensure_future(writer())
        async for e in logmod.follow(log, logmod.LogOptions(follow=True), end, lambda: state["running"]):
            got.append(e.data)
        await task
        return got

    assert asyncio.run(scenario()) == [f"{i}\n".encode() for i in range(5)]


def test_detach_key_specs_and_matching() -> None:
    from engine.containers import detachkeys

    assert detachkeys.parse("") == b"\x10\x11" and detachkeys.parse("a,ctrl-@") == b"a\x00"
    w = detachkeys.Watcher(b"\x10\x11")
    assert w.feed(b"ab\x10") == (b"ab", False)  # a partial match is held back
    assert w.feed(b"c") == (b"\x10c", False)
    assert w.feed(b"x\x10\x11tail") == (b"x", True)
    with pytest.raises(InvalidParameter):
        detachkeys.parse("ctrl-1")
