"""Which files are valid: our verdict and the reference's on tricky inputs (recorded, then re-checked).

Each case was recorded from docker-compose v2.40.3; the @reference test re-runs the binary.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from composer.errors import ConfigError

from .conftest import Reference, load

VERDICTS = [
    (
        """\
services:
  a:
    image: x
    deploy: {mode: foo}
""",
        "ok",
    ),
    (
        """\
services:
  a:
    image: x
    restart: sometimes
""",
        "ok",
    ),
    (
        """\
services:
  a:
    image: x
    cpus: abc
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    secrets: [{source: s, mode: "0440"}]
secrets:
  s: {file: ./s}
""",
        "ok",
    ),
    (
        """\
services:
  a:
    image: x
    volumes: [{type: bogus, target: /x}]
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    volumes: [{type: bind, target: /x}]
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    healthcheck: {test: 1}
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    build: {context: ., args: {A: [1]}}
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    environment: {A: [1]}
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    environment: "A=1"
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    labels: {a: {b: 1}}
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    ulimits: {nofile: {soft: 1}}
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    depends_on: {b: {condition: service_started, foo: 1}}
  b:
    image: x
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    container_name: a
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    pull_policy: sometimes
""",
        "invalid",
    ),
    (
        """\
services:
  "bad name!":
    image: x
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    networks: ["bad name!"]
networks:
  "bad name!": {}
""",
        "ok",
    ),
    (
        """\
services:
  a:
    image: x
    volumes: [v:/x]
volumes:
  v: {driver_opts: {a: [1]}}
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    expose: [{a: 1}]
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    dns: 1
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    tmpfs: 1
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    deploy: {resources: {limits: {cpus: "x"}}}
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    user: 1000
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    working_dir: 1
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    command: 1
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    stop_signal: 9
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    mem_limit: true
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    sysctls: [a]
""",
        "ok",
    ),
    (
        """\
services:
  a:
    image: x
    configs: [c]
configs:
  c: {}
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    gpus: true
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    develop: {watch: [{path: x}]}
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    profiles: p
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    links: a
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    ports: ["80:80:80"]
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    ports: ["70000:80"]
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    extra_hosts: ["nohost"]
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    logging: {driver: x, options: {a: [1]}}
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    healthcheck: {interval: 10}
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    devices: ["a:b:c:d"]
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    network_mode: host
    ports: ["80:80"]
""",
        "ok",
    ),
    (
        """\
services:
  a:
    image: x
    cap_add: NET_ADMIN
""",
        "invalid",
    ),
    (
        """\
services: []
""",
        "invalid",
    ),
    (
        """\
services:
  a: []
""",
        "invalid",
    ),
    (
        """\
version: 3
services:
  a:
    image: x
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    secrets: [s]
secrets:
  s: {file: ./s, environment: X}
""",
        "invalid",
    ),
    (
        """\
networks:
  n: {driver: bridge}
services:
  a:
    image: x
""",
        "ok",
    ),
    (
        """\
services:
  a:
    image: x
    stop_grace_period: 10
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    shm_size: -1
""",
        "ok",
    ),
    (
        """\
services:
  a:
    image: x
    scale: -1
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    deploy:
      replicas: -2
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    volumes: [{type: tmpfs, source: /x, target: /x}]
""",
        "ok",
    ),
    (
        """\
services:
  a:
    image: x
    volumes: [{type: volume, source: v, target: /x, bind: {propagation: shared}}]
volumes:
  v: {}
""",
        "ok",
    ),
    (
        """\
services:
  a:
    image: x
    volumes: [{type: bind, source: /y, target: /x, tmpfs: {size: 1}}]
""",
        "ok",
    ),
    (
        """\
services:
  a:
    image: x
    configs: [c]
configs:
  c: {file: ./c, content: x}
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    secrets: [s]
secrets:
  s: {content: x}
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    ports: ["abc:80:80"]
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    ports: ["::1:80:80"]
""",
        "ok",
    ),
    (
        """\
services:
  a:
    image: x
    volumes: [{type: volume, target: /x, source: /abs}]
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    volumes: ["v:relative"]
volumes:
  v: {}
""",
        "ok",
    ),
    (
        """\
name: 1
services:
  a:
    image: x
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    networks: {n: {aliases: "x"}}
networks:
  n: {}
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    ports: [{published: 80}]
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    volumes: [{source: x, target: /x}]
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    depends_on: [b, b]
  b:
    image: x
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    environment: [A=1, A=2]
""",
        "ok",
    ),
    (
        """\
services:
  a:
    image: x
    cap_add: [A, A]
""",
        "ok",
    ),
    (
        """\
services:
  a:
    image: x
    dns: [a, a]
""",
        "ok",
    ),
    (
        """\
services:
  a:
    image: x
    healthcheck: {test: []}
""",
        "ok",
    ),
    (
        """\
services:
  a:
    build: {}
""",
        "ok",
    ),
    (
        """\
services:
  a:
    build: 1
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    volumes: [v:/x]
volumes:
  v: {external: true, driver: local}
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    networks: [n]
networks:
  n: {external: true, driver: bridge}
""",
        "ok",
    ),
    (
        """\
services:
  a:
    image: x
    secrets: [s]
secrets:
  s: {external: true, file: x}
""",
        "ok",
    ),
    (
        """\
services:
  a:
    image: x
    labels: ["=x"]
""",
        "ok",
    ),
    (
        """\
services:
  a:
    image: x
    restart: on-failure:3
""",
        "ok",
    ),
    (
        """\
services:
  a:
    image: x
    deploy: {restart_policy: {condition: foo}}
""",
        "ok",
    ),
    (
        """\
services:
  a:
    image: x
    deploy: {placement: {constraints: "x"}}
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    ports: ["127.0.0.1:80"]
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    ports: ["80-81:90"]
""",
        "ok",
    ),
    (
        """\
services:
  a:
    image: x
    ports: ["-1"]
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    expose: ["abc"]
""",
        "ok",
    ),
    (
        """\
services:
  a:
    image: x
    sysctls: {a: [1]}
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    storage_opt: {size: [1]}
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    ports: ["80:80/foo"]
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    ports: [{target: 80, protocol: foo}]
""",
        "ok",
    ),
    (
        """\
services:
  a:
    image: x
    ports: [{target: 80, mode: foo}]
""",
        "ok",
    ),
    (
        """\
services:
  a:
    image: x
    volumes: [":/x"]
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    volumes: ["/x:"]
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    environment: ["=x"]
""",
        "ok",
    ),
    (
        """\
services:
  a:
    image: x
    extra_hosts: ["h=1.2.3.4", "h=5.6.7.8"]
""",
        "ok",
    ),
    (
        """\
services:
  a:
    image: x
    dns_opt: x
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    tmpfs: ["/x", "/x"]
""",
        "ok",
    ),
    (
        """\
services:
  a:
    image: x
    volumes: ["/x", "/x"]
""",
        "ok",
    ),
    (
        """\
services:
  a:
    image: x
    ports: ["80", "80"]
""",
        "ok",
    ),
    (
        """\
services:
  a:
    image: x
    healthcheck: {test: "", interval: 5s}
""",
        "ok",
    ),
    (
        """\
services:
  a:
    image: x
    network_mode: "service:a"
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    depends_on: [a]
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    volumes_from: [nothere]
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    links: [nothere]
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    ipc: "service:nothere"
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    links: [b, b]
  b:
    image: x
""",
        "ok",
    ),
    (
        """\
services:
  a:
    image: x
    volumes_from: [b, b]
  b:
    image: x
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    volumes: [v:/x]
volumes:
  v: {external: true, labels: [a=b]}
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    volumes: [v:/x]
volumes:
  v: {external: true, driver_opts: {a: b}}
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    volumes: [v:/x]
volumes:
  v: {external: true, name: foo}
""",
        "ok",
    ),
    (
        """\
services:
  a:
    image: x
    networks: [n]
networks:
  n: {external: true, ipam: {driver: x}}
""",
        "ok",
    ),
    (
        """\
services:
  a:
    image: x
    security_opt: [a, a]
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    expose: [80, 80]
""",
        "ok",
    ),
    (
        """\
services:
  a:
    image: x
    profiles: [a, a]
""",
        "ok",
    ),
    (
        """\
services:
  a:
    image: x
    external_links: [a, a]
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    devices: [/dev/a, /dev/a]
""",
        "ok",
    ),
    (
        """\
services:
  a:
    image: x
    configs: [c, c]
configs:
  c: {content: x}
""",
        "ok",
    ),
    (
        """\
services:
  a:
    image: x
    secrets: [s, s]
secrets:
  s: {file: ./x}
""",
        "ok",
    ),
    (
        """\
services:
  a:
    image: x
    group_add: [a, a]
""",
        "invalid",
    ),
    (
        """\
services:
  a:
    image: x
    dns_search: [a, a]
""",
        "ok",
    ),
    (
        """\
services:
  a:
    image: x
    networks: {n: {aliases: [a, a]}}
networks:
  n: {}
""",
        "ok",
    ),
    (
        """\
services:
  a:
    image: x
    ports: ["80:80/TCP"]
""",
        "ok",
    ),
    (
        """\
services:
  a:
    image: x
    ports: [{target: 80, protocol: TCP}]
""",
        "ok",
    ),
]


@pytest.mark.parametrize(("text", "verdict"), VERDICTS)
def test_our_verdict(text: str, verdict: str, project_dir: Path) -> None:
    if verdict == "ok":
        load(project_dir, text)
    else:
        with pytest.raises(ConfigError):
            load(project_dir, text)


@pytest.mark.reference
@pytest.mark.parametrize(("text", "verdict"), VERDICTS)
def test_reference_verdict(text: str, verdict: str, project_dir: Path, reference: Reference) -> None:
    (project_dir / "compose.yaml").write_text(text)
    done = reference.run(project_dir, "config", "-q")
    assert (done.returncode == 0) == (verdict == "ok"), done.stderr
