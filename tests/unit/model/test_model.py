"""The typed model: exact round-trip to the canonical dict, frozen values, handy accessors."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from composer.model import DependsOn, Healthcheck, Mount, PortMapping, Project, go_json, service_config_hash

from .conftest import load
from .test_normalize_reference import CASES, FILES


@pytest.mark.parametrize("case", sorted(CASES))
def test_round_trip_is_exact(case: str, project_dir: Path) -> None:
    for name, content in FILES.get(case, {}).items():
        (project_dir / name).write_text(content)
    canonical = load(project_dir, CASES[case])
    again = Project.from_dict(canonical).to_dict()
    assert json.dumps(again) == json.dumps(canonical)


def test_typed_fields(project_dir: Path) -> None:
    text = """
services:
  web:
    image: busybox
    command: httpd -f -p 8080
    ports: ["127.0.0.1:8080:80"]
    volumes: ["./site:/www:ro", {type: tmpfs, target: /tmp, tmpfs: {size: 1m}}]
    depends_on:
      db: {condition: service_healthy}
    healthcheck:
      test: wget -q -O- localhost
      interval: 2s
    deploy: {replicas: 3}
  db:
    image: busybox
"""
    proj = Project.from_dict(load(project_dir, text))
    web = proj.services["web"]
    assert web.command == ("httpd", "-f", "-p", "8080")
    assert web.ports == (PortMapping(target=80, published="8080", host_ip="127.0.0.1"),)
    assert web.volumes[0] == Mount.from_dict(
        {
            "type": "bind",
            "source": str(project_dir / "site"),
            "target": "/www",
            "read_only": True,
            "bind": {"create_host_path": True},
        }
    )
    assert web.volumes[1].tmpfs_size == 1 << 20
    assert web.depends_on["db"] == DependsOn(condition="service_healthy", required=True)
    assert web.healthcheck == Healthcheck(test=("CMD-SHELL", "wget -q -O- localhost"), interval="2s")
    assert web.healthcheck.nanoseconds("interval") == 2_000_000_000
    assert web.replicas == 3
    assert proj.services["db"].replicas == 1
    assert proj.networks["default"].name == "proj_default"
    assert proj.services["db"].networks == {"default": None}


def test_model_is_frozen(project_dir: Path) -> None:
    proj = Project.from_dict(load(project_dir, "services:\n  a:\n    image: x\n    environment: [A=1]\n"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        proj.services["a"].image = "y"  # type: ignore[misc]
    with pytest.raises(TypeError):
        proj.services["a"].environment["A"] = "2"  # type: ignore[index]


def test_hash_ignores_what_compose_ignores(project_dir: Path) -> None:
    base = "services:\n  a:\n    image: x\n{extra}  b:\n    image: x\n"
    plain = Project.from_dict(load(project_dir, base.format(extra="")))
    scaled = Project.from_dict(
        load(project_dir, base.format(extra="    scale: 3\n    depends_on: [b]\n    profiles: [p]\n"))
    )
    changed = Project.from_dict(load(project_dir, base.format(extra="    environment: [A=1]\n")))
    assert service_config_hash(plain, "a") == service_config_hash(scaled, "a")
    assert service_config_hash(plain, "a") != service_config_hash(changed, "a")


def test_go_json_escapes_like_go() -> None:
    assert go_json({"a": "<&>", "b": "é"}) == '{"a":"\\u003c\\u0026\\u003e","b":"é"}'


def test_runtime_settings_are_typed(project_dir: Path) -> None:
    text = """
services:
  app:
    image: busybox
    user: "1000:1000"
    working_dir: /srv
    tty: true
    init: false
    cap_add: [NET_ADMIN]
    mem_limit: 64m
    shm_size: 1g
    cpus: 1.5
    stop_grace_period: 1m30s
    extra_hosts: ["db=10.0.0.2"]
    ulimits: {nofile: {soft: 10, hard: 20}}
    sysctls: [net.core.somaxconn=1024]
"""
    app = Project.from_dict(load(project_dir, text)).services["app"]
    assert (app.user, app.working_dir, app.tty, app.init, app.privileged) == (
        "1000:1000",
        "/srv",
        True,
        False,
        False,
    )
    assert app.cap_add == ("NET_ADMIN",)
    assert (app.mem_limit, app.shm_size, app.cpus) == (64 << 20, 1 << 30, 1.5)
    assert app.stop_grace_seconds == 90.0
    assert app.extra_hosts == ("db=10.0.0.2",)
    assert app.ulimits == {"nofile": {"soft": 10, "hard": 20}}
    assert app.sysctls == {"net.core.somaxconn": "1024"}
    assert app.to_dict()["mem_limit"] == "67108864"
    assert app.to_dict()["init"] is False


def test_resources_expose_their_settings(project_dir: Path) -> None:
    (project_dir / "s.txt").write_text("x")
    text = """
services:
  a:
    image: busybox
    networks: [back]
    volumes: [data:/d]
    secrets: [token]
    configs: [conf]
networks:
  back:
    internal: true
    ipam:
      config: [{subnet: 10.9.0.0/24}]
volumes:
  data:
    driver_opts: {type: tmpfs, device: tmpfs}
secrets:
  token: {file: ./s.txt}
configs:
  conf: {content: "hello"}
"""
    proj = Project.from_dict(load(project_dir, text))
    back = proj.networks["back"]
    assert (back.name, back.internal, back.ipam["config"][0]["subnet"]) == ("proj_back", True, "10.9.0.0/24")
    assert proj.volumes["data"].driver_opts == {"type": "tmpfs", "device": "tmpfs"}
    assert proj.secrets["token"].file == str(project_dir / "s.txt")
    assert proj.configs["conf"].content == "hello"
