"""Legacy links and VolumesFrom, against our engine and a private dockerd 20.10 (`either`,
tests/e2e/both.py), with the docker CLI as the client."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.both import Engine

pytestmark = [pytest.mark.root, pytest.mark.e2e]


def test_links_on_the_default_bridge_give_variables_and_hosts_names(either: Engine) -> None:
    either.cli("run", "-d", "--name", "tgt", "--expose", "80", "--expose", "53/udp", "-e", "FOO=bar",
               "busybox", "sleep", "100")
    either.cli("run", "-d", "--name", "lk1", "--link", "tgt:my-db", "busybox", "sleep", "100")
    ip = either.cli("inspect", "-f", "{{.NetworkSettings.IPAddress}}", "tgt").out.strip()
    short = either.cli("inspect", "-f", "{{.Config.Hostname}}", "tgt").out.strip()
    expected = [
        "MY_DB_ENV_FOO=bar",
        "MY_DB_NAME=/lk1/my-db",
        f"MY_DB_PORT=udp://{ip}:53",
        f"MY_DB_PORT_53_UDP=udp://{ip}:53",
        f"MY_DB_PORT_53_UDP_ADDR={ip}",
        "MY_DB_PORT_53_UDP_PORT=53",
        "MY_DB_PORT_53_UDP_PROTO=udp",
        f"MY_DB_PORT_80_TCP=tcp://{ip}:80",
        f"MY_DB_PORT_80_TCP_ADDR={ip}",
        "MY_DB_PORT_80_TCP_PORT=80",
        "MY_DB_PORT_80_TCP_PROTO=tcp",
    ]
    main = either.cli("exec", "lk1", "cat", "/proc/1/environ").out.split("\0")
    assert sorted(v for v in main if v.startswith("MY_DB_")) == expected
    execd = either.cli("exec", "lk1", "env").out.splitlines()
    assert sorted(v for v in execd if v.startswith("MY_DB_")) == expected
    assert f"{ip}\tmy-db {short} tgt" in either.cli("exec", "lk1", "cat", "/etc/hosts").out.splitlines()
    assert either.cli("exec", "lk1", "ping", "-c", "1", "-W", "3", "my-db").rc == 0
    links = either.cli("inspect", "-f", "{{json .HostConfig.Links}}", "lk1").out.strip()
    assert links == '["/tgt:/lk1/my-db"]'
    # docker rm --link: the link leaves the record and the running container's hosts
    assert either.cli("rm", "--link", "/lk1/my-db").out.strip() == "/lk1/my-db"
    assert either.cli("inspect", "-f", "{{json .HostConfig.Links}}", "lk1").out.strip() == "null"
    assert "my-db" not in either.cli("exec", "lk1", "cat", "/etc/hosts").out
    gone = either.cli("rm", "--link", "/lk1/nosuch", check=False)
    assert gone.rc == 1 and "No such container: lk1/nosuch" in gone.err
    plain = either.cli("rm", "--link", "tgt", check=False)
    assert plain.rc == 1 and "Conflict, cannot remove the default link name of the container" in plain.err


def test_a_link_to_a_missing_container_is_refused_at_create(either: Engine) -> None:
    res = either.cli("create", "--link", "nosuch:x", "busybox", "true", check=False)
    assert res.rc != 0 and "could not get container for nosuch: No such container: nosuch" in res.err


def test_links_on_a_user_network_resolve_the_alias_without_variables(either: Engine) -> None:
    either.cli("network", "create", "t-links")
    either.cli("run", "-d", "--name", "tgt2", "--network", "t-links", "-e", "FOO=bar", "--expose", "80",
               "busybox", "sleep", "100")
    out = either.cli("run", "--rm", "--network", "t-links", "--link", "tgt2:al2", "busybox", "sh", "-c",
                     "env; nslookup al2").out
    ip = either.cli("inspect", "-f", "{{.NetworkSettings.Networks.t-links.IPAddress}}", "tgt2", check=False)
    if ip.rc != 0:  # the template cannot index a name with a dash
        ip = either.cli("inspect", "-f", '{{(index .NetworkSettings.Networks "t-links").IPAddress}}', "tgt2")
    assert "AL2_" not in out
    assert f"Address: {ip.out.strip()}" in out


def test_volumes_from_mounts_the_other_containers_volumes_and_binds(either: Engine, tmp_path: Path) -> None:
    host_dir = tmp_path / "bound"
    host_dir.mkdir()
    (host_dir / "b").write_text("bind\n")
    either.cli("volume", "create", "t-vf")
    either.cli("run", "--name", "src", "-v", "/anon", "-v", "t-vf:/named", "-v", f"{host_dir}:/bound",
               "busybox", "sh", "-c", "echo anon > /anon/a; echo named > /named/n")
    out = either.cli("run", "--rm", "--volumes-from", "src", "busybox", "sh", "-c",
                     "cat /anon/a /named/n /bound/b; echo more > /named/m").out
    assert out == "anon\nnamed\nbind\n"
    ro = either.cli("run", "--rm", "--volumes-from", "src:ro", "busybox", "sh", "-c",
                    "cat /named/m; touch /named/x", check=False)
    assert ro.out == "more\n" and ro.rc == 1 and "Read-only file system" in ro.err
    mounts = either.cli("create", "--volumes-from", "src:ro", "busybox", "true").out.strip()
    template = "{{range .Mounts}}{{.Destination}}={{.RW}} {{end}}"
    shown = either.cli("inspect", "-f", template, mounts).out.split()
    assert sorted(shown) == ["/anon=false", "/bound=false", "/named=false"]
    missing = either.cli("create", "--volumes-from", "nosuch", "busybox", "true", check=False)
    assert missing.rc != 0 and "No such container: nosuch" in missing.err
