"""Whole small files (top-level resources, extensions) through our stages and the reference."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from composer.errors import ConfigError
from composer.loader.normalize import json_view, yaml_view
from composer.model import Project, service_config_hash

from .conftest import Reference, load
from .test_snippets import escaped

FILES = [
    """\
services:
  a:
    image: x
    models: [m]
    pull_refresh_after: 1h
models:
  m:
    model: ai/smollm2
""",
    """\
services:
  a:
    image: x
    models: [zz]
""",
    """\
services:
  a:
    image: x
    models:
      m:
        endpoint_var: E
        model_var: N
      n:
models:
  m:
    model: ai/x
    context_size: 1024
    runtime_flags: [--a]
  n:
    model: ai/y
    name: custom
  unused:
    model: y
""",
    """\
services:
  a:
    image: x
    pre_start:
      - command: echo
""",
    """\
services:
  a:
""",
    """\
networks:
  n: {}
""",
    """\
services:
  a:
    image: x
    build: .
    pull_policy: build
""",
    """\
services:
  a:
    image: x
    networks:
      default: {}
      other: null
networks:
  other:
""",
    """\
services:
  a:
    image: x
    networks: {}
""",
    """\
services:
  web:
    image: x
    depends_on:
      db:
        condition: service_healthy
        restart: true
  db:
    image: x
    healthcheck:
      test: ["CMD", "true"]
""",
    """\
services:
  a:
    image: x
    environment:
      PATH:
      HOME:
""",
    """\
services:
  a:
    build:
      context: .
      additional_contexts:
        base: service:nothere
""",
    """\
services:
  a:
    build:
      context: .
      additional_contexts:
        base: service:b
  b:
    image: x
""",
    """\
services:
  a:
    build:
      context: .
      additional_contexts:
        base: service:b
  b:
    build: .
""",
    """\
services:
  a:
    platform: linux/arm64
    build:
      context: .
      platforms: [linux/amd64]
""",
    """\
services:
  a:
    platform: linux/amd64
    build:
      context: .
      platforms: [linux/amd64, linux/arm64]
""",
    """\
services:
  a:
    image: x
secrets:
  s:
    name: foo
""",
    """\
services:
  a:
    image: x
configs:
  c: {}
""",
    """\
services:
  a:
    image: x
volumes:
  v:
    external: true
    driver: local
""",
    """\
services:
  a:
    image: x
networks:
  n:
    external: {name: a}
    name: b
""",
    """\
services:
  a:
    image: x
    depends_on:
      b: {condition: service_started, required: false}
""",
    """\
services:
  a:
    image: x
    build: {context: ., dockerfile: x, dockerfile_inline: "FROM y"}
""",
    """\
services:
  a:
    image: x
    scale: 2
    deploy: {replicas: 2}
""",
    """\
services:
  a:
    image: x
    cpus: 1
    deploy: {resources: {limits: {cpus: 1}}}
""",
    """\
services:
  a:
    image: x
    mem_limit: 1g
    deploy: {resources: {limits: {memory: 1024m}}}
""",
    """\
services:
  a:
    image: x
    networks: [n]
networks:
  n:
    driver: overlay
    attachable: true
    internal: true
    enable_ipv6: true
    enable_ipv4: false
    labels: {a: 1}
    driver_opts: {mtu: 1400}
""",
    """\
services:
  a:
    image: x
    volumes: [v:/x]
volumes:
  v:
    driver_opts: {size: 10}
    labels: [a=b, c]
""",
    """\
services:
  a:
    image: x
    networks: [n]
networks:
  n:
    external: {name: legacy}
    name: legacy
""",
    """\
services:
  a:
    image: x
    networks: [n]
networks:
  n:
    external: {name: legacy}
    name: other
""",
    """\
services:
  a:
    image: x
    secrets: [s]
secrets:
  s:
    file: ~/secret
    labels: [a=1]
""",
    """\
services:
  a:
    image: x
    configs: [c]
configs:
  c:
    environment: HOME
    template_driver: golang
""",
    """\
name: MyProj
services:
  a:
    image: x
""",
    """\
services:
  a:
    image: x
x-a: &anchor
  b: 1
x-list: [1, 2]
""",
    """\
services:
  a:
    image: x
    networks:
      default:
        ipv4_address: 172.20.0.5
networks:
  default:
    ipam:
      config:
        - subnet: 172.20.0.0/16
""",
    """\
services:
  a:
    image: x
    network_mode: bridge
""",
    """\
services:
  a:
    image: x
    network_mode: none
  b:
    image: x
    network_mode: host
""",
    """\
services: {}
""",
    """\
services:
  a:
    image: x
volumes:
  v: {}
networks:
  n: {}
""",
    """\
services:
  a:
    image: x
    volumes: [v:/x]
volumes:
  v:
    x-ext: 1
""",
    """\
services:
  a:
    image: x
    x-a: 1
    ports:
      - target: 80
        x-p: 2
    deploy:
      x-d: 3
""",
]


@pytest.mark.reference
@pytest.mark.parametrize("text", FILES)
def test_file_matches_reference(text: str, project_dir: Path, reference: Reference) -> None:
    (project_dir / "compose.yaml").write_text(text)
    done = reference.run(project_dir, "config", "--format", "json")
    if done.returncode != 0:
        with pytest.raises(ConfigError):
            load(project_dir, text)
        return
    canonical = load(project_dir, text)
    assert json.dumps(escaped(json_view(canonical)), indent=1) == json.dumps(
        json.loads(done.stdout), indent=1
    )
    as_yaml = reference.run(project_dir, "config", "--format", "yaml")
    assert escaped(yaml_view(canonical)) == yaml.safe_load(as_yaml.stdout)
    hashes = reference.run(project_dir, "config", "--hash", "*")
    project = Project.from_dict(canonical)
    want = sorted(line for line in hashes.stdout.splitlines() if line)
    assert want == [f"{name} {service_config_hash(project, name)}" for name in sorted(project.services)]
