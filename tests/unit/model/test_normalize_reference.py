"""Normalization of every short syntax, compared with `docker compose config --format json`.

Both outputs are compared as JSON text, so key order must agree too (the config hash depends on it).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from composer.loader.normalize import yaml_view
from composer.model import Project, service_config_hash

from .conftest import Loader, Reference, load

CASES = {
    "ports": """
services:
  web:
    image: busybox
    ports:
      - "8000-8002:80-82"
      - "127.0.0.1:9000:90/udp"
      - "[::1]:81:81"
      - 3000
      - "4000-4001"
      - "8-10"
      - "127.0.0.1::80"
      - "8000-8010:80"
      - "0.0.0.0:5000:5000/sctp"
      - target: 5000
        published: "5001"
        protocol: tcp
        mode: host
      - target: 6000
        published: 6001
""",
    "volumes": """
services:
  web:
    image: busybox
    volumes:
      - ./data:/data:ro,z
      - named:/named
      - named:/nc:nocopy
      - /abs:/abs:rw
      - ~/home:/home
      - ./x/../y/:/y/
      - /anon
      - /shared:/shared:rshared
      - type: tmpfs
        target: /t
        tmpfs:
          size: 10m
          mode: 1777
      - type: bind
        source: ./b
        target: /b
        bind:
          create_host_path: true
      - type: bind
        source: rel
        target: /rel
        read_only: true
      - type: volume
        source: named
        target: /w
        volume:
          nocopy: true
          subpath: sub
volumes:
  named: {}
  unused: {}
""",
    "depends_on": """
services:
  a:
    image: busybox
    depends_on: [b]
  b:
    image: busybox
    depends_on:
      c:
        condition: service_healthy
      d:
        condition: service_completed_successfully
        restart: true
        required: false
    links: ["e:ee", f]
  c:
    image: busybox
    network_mode: "service:d"
  d:
    image: busybox
    volumes_from: [e, "container:foo:ro"]
  e:
    image: busybox
    ipc: "service:f"
  f:
    image: busybox
""",
    "healthcheck": """
services:
  a:
    image: busybox
    healthcheck:
      test: curl -f http://localhost
      interval: 1m30s
      timeout: 1500ms
      start_period: 500ms
      start_interval: 2s
      retries: 3
  b:
    image: busybox
    healthcheck:
      test: ["CMD", "true"]
      interval: 1.5h
      timeout: 90s
  c:
    image: busybox
    healthcheck:
      disable: true
""",
    "build": """
services:
  a:
    build: ./dir
  b:
    image: b
    build:
      context: .
      dockerfile: Dfile
      args:
        - X=1
        - HOME
        - UNSET_ARG
      labels: [a=b]
      shm_size: 2g
  c:
    build:
      context: sub
      dockerfile_inline: "FROM busybox"
      args:
        K: 2
""",
    "sizes_durations": """
services:
  a:
    image: busybox
    mem_limit: 512m
    memswap_limit: 1g
    mem_reservation: 1.5g
    shm_size: 64M
    stop_grace_period: 1m
    cpus: 0.5
    cpu_shares: 512
    pids_limit: 100
    deploy:
      resources:
        limits:
          cpus: "0.5"
          memory: 512m
          pids: 100
      restart_policy:
        condition: on-failure
        delay: 5s
        window: 2m
  b:
    image: busybox
    deploy:
      replicas: 3
      labels: [x=1]
      update_config:
        parallelism: 2
        delay: 10s
""",
    "secrets_configs": """
services:
  a:
    image: busybox
    secrets:
      - s1
      - source: s2
        target: t
        mode: 0400
        uid: "100"
    configs:
      - c1
      - source: c2
        target: /etc/c
secrets:
  s1:
    file: ./s1.txt
  s2:
    environment: HOME
  unused:
    file: x
configs:
  c1:
    file: ~/c1.txt
  c2:
    content: hello
""",
    "networks": """
name: netproj
services:
  a:
    image: busybox
    networks: [front]
  b:
    image: busybox
    networks:
      front:
        aliases: [bee]
        ipv4_address: 10.0.0.2
      back: {}
  c:
    image: busybox
  d:
    image: busybox
    network_mode: host
networks:
  front:
    x-net-ext: dropped
    driver: bridge
    ipam:
      config:
        - subnet: 10.0.0.0/24
    labels: [k=v]
  back:
    external: true
  named:
    name: custom
""",
    "environment_labels": """
services:
  a:
    image: busybox
    environment:
      - A=1
      - B
      - C=
      - HOME
      - D=x=y
      - x-not-an-extension=1
    labels:
      - x=y
      - z
    annotations:
      an: 1
    sysctls:
      - net.core.somaxconn=1024
  b:
    image: busybox
    environment:
      N: 1
      T: true
      F: 1.5
      E:
    labels:
      l: true
    sysctls:
      net.ipv4.ip_forward: 1
""",
    "misc": """
services:
  a:
    image: busybox
    command: echo "hello world" 'x y'
    entrypoint: /bin/sh -c
    ulimits:
      nproc: 65535
      nofile:
        soft: 20000
        hard: 40000
    extra_hosts:
      - "somehost:162.242.195.82"
      - "other=1.2.3.4"
      - "v6=[::1]"
    logging:
      driver: json-file
      options:
        max-size: 10m
    dns: 8.8.8.8
    tmpfs: /run
    expose: ["80", 81]
    cap_add: [NET_ADMIN]
    privileged: false
    read_only: true
    init: true
    tty: true
    pull_policy: if_not_present
    restart: always
    x-ext: kept-in-yaml
  b:
    image: busybox
    command: ["sh", "-c", "echo hi"]
    extra_hosts:
      h1: 1.2.3.4
      h2: ["5.6.7.8", "::1"]
    scale: 2
    profiles: []
x-top:
  anything: [1, 2]
""",
    "devices_develop_build_long": """
services:
  a:
    image: busybox
    develop:
      watch:
        - path: ./src
          action: sync
          target: /app
          ignore: node_modules/
        - path: package.json
          action: rebuild
    devices:
      - /dev/fuse
      - "/dev/sda:/dev/xvda:rwm"
    blkio_config:
      weight: 300
      device_read_bps:
        - path: /dev/sda
          rate: 12mb
    credential_spec:
      config: my_credential_spec
    mem_swappiness: 60
    oom_score_adj: -500
    cpus: "2"
    cpu_count: 0
    ulimits:
      core: "0"
      nofile: 1024
    logging:
      options:
        max-file: 3
    volumes:
      - type: volume
        source: v
        target: /v
        volume:
          labels: [a=b]
      - type: bind
        source: /x
        target: /x
        consistency: cached
        bind:
          recursive: readonly
          propagation: rprivate
    networks:
      n:
        priority: 100
        driver_opts:
          foo: bar
        link_local_ips: [169.254.1.1]
        mac_address: 02:42:ac:11:65:43
    healthcheck:
      test: ["NONE"]
    post_start:
      - command: ["echo", "x"]
        user: root
    group_add: [mail, 42]
    security_opt: [no-new-privileges]
    stop_signal: SIGUSR1
    hostname: h
    domainname: d.local
    user: "0"
    userns_mode: host
    platform: linux/amd64
    storage_opt:
      size: 1G
    gpus: all
  b:
    image: busybox
    build:
      context: .
      ssh: [default]
      cache_from: [a]
      additional_contexts:
        - base=../base
      extra_hosts: ["h:1.2.3.4"]
      ulimits:
        nofile: 100
      tags: ["x:1"]
      platforms: [linux/amd64]
      network: host
      target: prod
      secrets:
        - bs
      no_cache: true
      pull: false
    network_mode: none
    label_file: ./labels
    attach: false
    init: false
    tty: false
secrets:
  bs:
    file: ./bs
volumes:
  v:
    driver: local
    driver_opts:
      type: tmpfs
      o: size=1m
    labels:
      - k=v
networks:
  n:
    external:
      name: legacy-net
  other:
    internal: true
""",
    "binds_hooks_labels_gpus": """
services:
  a:
    image: busybox
    volumes:
      - type: bind
        source: /x
        target: /x
        bind:
          create_host_path: false
      - type: bind
        source: /y
        target: /y
        bind:
          selinux: z
      - type: bind
        source: /z
        target: /z
        bind:
          create_host_path: true
      - type: volume
        target: /anon
      - type: tmpfs
        target: /tt
    develop:
      watch:
        - path: ./src
          action: sync+exec
          target: /app
          exec:
            command: echo hi there
            user: root
    blkio_config:
      weight_device:
        - path: /dev/sda
          weight: 400
      device_write_iops:
        - path: /dev/sda
          rate: 30
    ulimits:
      core: 0
      nproc: {soft: 0, hard: 0}
    labels:
      A: explicit
    label_file: ./labels
    logging:
      driver: syslog
    devices:
      - source: /dev/a
        target: /dev/b
      - "/dev/c:/dev/d"
    gpus:
      - driver: nvidia
        count: 1
        capabilities: [gpu]
""",
    "edge_omitempty": """
services:
  a:
    image: busybox
    command: ""
    entrypoint: []
    environment: {}
    labels: []
    ports: ["80/UDP", "1.2.3.4:80-81:80-81"]
    expose: ["80-85/tcp"]
    healthcheck:
      test: ["CMD-SHELL", "true"]
      retries: 0
    depends_on:
      b:
        condition: service_started
        restart: false
    cpus: 0
    tmpfs:
      - /run:size=64m
      - /tmp
    stop_grace_period: 0s
    volumes:
      - "vol:/data:ro"
      - ".:/src"
      - "/a:/b:ro,nocopy"
    networks:
      default:
      other:
        aliases: []
  b:
    image: busybox
    networks: {}
    restart: "no"
    privileged: true
    secrets:
      - source: s
        mode: 0o440
volumes:
  vol:
    external: true
    name: realvol
networks:
  other:
    enable_ipv6: false
    internal: false
secrets:
  s:
    external: true
""",
    "explicit_default_network": """
services:
  a:
    image: busybox
  b:
    image: busybox
    networks: [default, extra]
networks:
  default:
    name: shared-net
    driver: bridge
    driver_opts:
      com.docker.network.bridge.name: br0
    ipam:
      driver: default
      options:
        foo: bar
      config:
        - subnet: 172.28.0.0/16
          ip_range: 172.28.5.0/24
          gateway: 172.28.5.254
          aux_addresses:
            host1: 172.28.1.5
  extra:
    external: true
    name: someone-elses
volumes: {}
""",
    "external_resources": """
services:
  a:
    image: busybox
    volumes: [ext:/e, renamed:/r, plain:/p]
    secrets: [sx, sy]
    configs: [cx]
    networks: [nx, ny]
volumes:
  ext:
    external: true
  renamed:
    external: true
    name: real-name
  plain:
    name: my-vol
    labels: {a: b}
secrets:
  sx:
    external: true
  sy:
    external: true
    name: other-secret
configs:
  cx:
    external: true
networks:
  nx:
    external: true
  ny:
    name: fixed-net
""",
}

# Files some cases read (label_file); written next to compose.yaml.
FILES = {
    "devices_develop_build_long": {"labels": "L1=x\n"},
    "binds_hooks_labels_gpus": {"labels": "A=fromfile\nB=2\n# comment\nC\n"},
}


@pytest.mark.reference
@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_reference(case: str, ours: Loader, project_dir: Path, reference: Reference) -> None:
    for name, content in FILES.get(case, {}).items():
        (project_dir / name).write_text(content)
    got = ours(CASES[case])
    want = reference.config(project_dir)
    assert got == want
    assert json.dumps(got, indent=1) == json.dumps(want, indent=1), "same data, different key order"


@pytest.mark.reference
@pytest.mark.parametrize("case", sorted(CASES))
def test_config_hash_matches_reference(case: str, project_dir: Path, reference: Reference) -> None:
    for name, content in FILES.get(case, {}).items():
        (project_dir / name).write_text(content)
    project = Project.from_dict(load(project_dir, CASES[case]))
    done = reference.run(project_dir, "config", "--hash", "*")
    assert done.returncode == 0, done.stderr
    want = sorted(line for line in done.stdout.splitlines() if line)
    assert want == [f"{name} {service_config_hash(project, name)}" for name in sorted(project.services)]


@pytest.mark.reference
@pytest.mark.parametrize("case", sorted(CASES))
def test_yaml_view_matches_reference_yaml(case: str, project_dir: Path, reference: Reference) -> None:
    for name, content in FILES.get(case, {}).items():
        (project_dir / name).write_text(content)
    got = yaml_view(load(project_dir, CASES[case]))
    done = reference.run(project_dir, "config", "--format", "yaml")
    assert done.returncode == 0, done.stderr
    assert got == yaml.safe_load(done.stdout)
