"""container_config(): the create body carries Compose's labels and the service's settings."""

from __future__ import annotations

from collections.abc import Callable

from composer import labels as L
from composer.model import Project, service_config_hash
from composer.spec import ProjectMeta, container_config

Loader = Callable[[str], Project]


def test_create_body(load: Loader) -> None:
    project = load(
        """
name: s
services:
  web:
    image: busybox:latest
    command: ["httpd", "-f"]
    environment: {A: "1"}
    ports: ["127.0.0.1:8080:80"]
    volumes: ["data:/data", "./www:/www:ro"]
    healthcheck: {test: ["CMD", "true"], interval: 2s, start_interval: 500ms, retries: 3}
    restart: on-failure:2
    stop_grace_period: 4s
    init: true
    depends_on: {db: {condition: service_healthy}}
  db: {image: busybox:latest}
volumes: {data: {}}
"""
    )
    web = project.services["web"]
    body = container_config(
        project,
        web,
        2,
        config_hash="h",
        image_id="sha256:i",
        meta=ProjectMeta("/p", ("/p/compose.yaml",)),
        networks_supported=True,
    )
    labels = body["Labels"]
    assert labels[L.PROJECT] == "s" and labels[L.SERVICE] == "web" and labels[L.CONTAINER_NUMBER] == "2"
    assert labels[L.ONEOFF] == "False" and labels[L.CONFIG_HASH] == "h" and labels[L.IMAGE] == "sha256:i"
    assert labels[L.DEPENDS_ON] == "db:service_healthy:false"
    assert labels[L.CONFIG_FILES] == "/p/compose.yaml" and labels[L.WORKING_DIR] == "/p"
    assert body["Cmd"] == ["httpd", "-f"] and body["Env"] == ["A=1"]
    assert body["Healthcheck"] == {
        "Test": ["CMD", "true"],
        "Interval": 2_000_000_000,
        "StartInterval": 500_000_000,
        "Retries": 3,
    }
    hc = body["HostConfig"]
    assert hc["PortBindings"] == {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}]}
    assert hc["Mounts"] == [{"Type": "volume", "Target": "/data", "ReadOnly": False, "Source": "s_data"}]
    assert hc["Binds"][0].endswith("/www:/www:ro")
    assert hc["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
    assert hc["Init"] is True and body["StopTimeout"] == 4
    assert hc["NetworkMode"] == "s_default"
    assert body["NetworkingConfig"] == {"EndpointsConfig": {"s_default": {"Aliases": ["web"]}}}
    plain = container_config(
        project,
        web,
        1,
        config_hash=service_config_hash(project, "web"),
        image_id="",
        meta=ProjectMeta("/p"),
        networks_supported=False,
    )
    assert plain["HostConfig"]["NetworkMode"] == "bridge" and "NetworkingConfig" not in plain
