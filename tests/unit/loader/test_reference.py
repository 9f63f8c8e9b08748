"""Differential checks against the reference docker-compose for the loader's trickier behaviours."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from textwrap import dedent

import pytest

from composer.errors import ConfigError
from tests.unit.loader.conftest import ours_config, reference_config

pytestmark = pytest.mark.reference

Project = dict[str, str]


def _y(text: str) -> str:
    return dedent(text).lstrip("\n")


CASES: dict[str, tuple[Project, list[str], dict[str, str]]] = {
    "merge-rules": (
        {
            "a.yaml": _y("""
                services:
                  web:
                    image: busybox
                    ports: ['8080:80', '9000:9000']
                    expose: ['1', 2]
                    volumes: ['./a:/data', '/x:/y']
                    environment: [A=1, B=2]
                    labels: {l1: a}
                    command: [a, b]
                    dns: 1.1.1.1
                    extra_hosts: ['h1:1.1.1.1']
                    depends_on: [db]
                    logging: {driver: json-file, options: {a: '1'}}
                    healthcheck: {test: [CMD, x], retries: 2}
                  db:
                    image: busybox
                """),
            "b.yaml": _y("""
                services:
                  web:
                    image: null
                    ports: ['8080:80', '9001:9001']
                    expose: ['1', 3]
                    volumes: ['./b:/data']
                    environment: {B: 3, C: null}
                    labels: [l2=b]
                    command: c
                    dns: [8.8.8.8]
                    extra_hosts: {h2: 2.2.2.2}
                    depends_on: {db: {condition: service_healthy}}
                    logging: {driver: syslog}
                    healthcheck: {test: [CMD, y]}
                """),
        },
        ["-f", "a.yaml", "-f", "b.yaml"],
        {},
    ),
    "reset-override": (
        {
            "compose.yaml": _y("""
                services:
                  web:
                    image: busybox
                    ports: ['80:80']
                    environment: {A: '1', B: '2'}
                    labels: [x=1]
                """),
            "compose.override.yaml": _y("""
                services:
                  web:
                    ports: !reset []
                    environment: !override {C: '3'}
                    labels: !reset null
                """),
        },
        [],
        {},
    ),
    "dotenv-and-env-file": (
        {
            "compose.yaml": _y("""
                services:
                  web:
                    image: busybox
                    env_file: [a.env, {path: missing.env, required: false}]
                    environment: [X, Y, Q, 'Z=${DOT}']
                """),
            "a.env": _y(r"""
                X=fromfile
                Q=fq
                R=${DOT}
                export S: "a\nb $$x \$y"
                T='${DOT} \n' # c
                U=v #c
                W=a#b
                BARE
                """),
            ".env": "DOT=dotval\nY=ydot\nBARE=bareval\nQ=fromdotenv\n",
        },
        [],
        {"Q": ""},
    ),
    "interpolation": (
        {
            "compose.yaml": _y("""
                name: ${PN:-My_Project}
                services:
                  web:
                    image: 'busybox:${B:-${C:-${A}}}'
                    environment:
                      E1: '${E:-e}/${E-e}/${A:+p}/${E+q}/${E:+r}/$$A/$A$$'
                      E2: '${B:-{x}}z'
                      E3: '${COMPOSE_PROJECT_NAME}'
                      E4: yes
                      E5: 0777
                      E6: on
                    privileged: '${T}'
                    scale: '${N}'
                    labels:
                      ${A}: key-not-interpolated
                """),
        },
        [],
        {"A": "a", "E": "", "T": "true", "N": "2"},
    ),
    "anchors": (
        {
            "compose.yaml": _y("""
                x-common: &common
                  image: busybox
                  environment: {A: '1'}
                services:
                  a:
                    <<: *common
                    environment: {B: '2'}
                  b: *common
                """)
        },
        [],
        {},
    ),
    "extends-and-include": (
        {
            "compose.yaml": _y("""
                include: [inc/compose.yaml]
                services:
                  base: {image: b, environment: {A: '1'}, ports: ['80:80']}
                  mid: {extends: base, environment: {B: '2'}}
                  web: {extends: mid, command: run}
                  ext: {extends: {file: lib/base.yaml, service: svc}, image: mine}
                """),
            "lib/base.yaml": _y("""
                services:
                  svc: {image: lib, build: ., volumes: ['./data:/data'], env_file: e.env}
                """),
            "lib/e.env": "FROM_LIB=1\n",
            "inc/compose.yaml": _y("""
                services:
                  inc: {image: i, build: ., environment: ['V=${V}', W], volumes: ['./d:/d']}
                """),
            "inc/.env": "V=subv\nW=w\n",
        },
        [],
        {},
    ),
    "profiles": (
        {
            "compose.yaml": _y("""
                services:
                  a: {image: x, depends_on: [b]}
                  b: {image: x, profiles: [p1]}
                  c: {image: x, profiles: [p2]}
                  e: {image: x}
                """)
        },
        ["--profile", "p1"],
        {"COMPOSE_PROFILES": "p2"},
    ),
    "include-long-form": (
        {
            "compose.yaml": _y("""
                include:
                  - path: [lib/one.yaml, lib/two.yaml]
                    project_directory: other
                    env_file: inc.env
                services:
                  web: {image: w, depends_on: [inc]}
                """),
            "lib/one.yaml": _y("""
                services:
                  inc:
                    image: "i:${TAG}"
                    build: ./ctx
                    volumes: ["./v:/v", "data:/data"]
                    env_file: e.env
                volumes:
                  data: {}
                """),
            "lib/two.yaml": "services:\n  inc:\n    environment: ['X=${TAG}']\n",
            "inc.env": "TAG=fromincenv\n",
            "other/e.env": "E=1\n",
        },
        [],
        {},
    ),
    "label-file": (
        {
            "compose.yaml": "services:\n  web: {image: x, label_file: [a.label], labels: [own=1, b=own]}\n",
            "a.label": "a=1\nb=2\nc=${a}\n",
        },
        [],
        {},
    ),
    "pwd-and-raw-env-file": (
        {
            "compose.yaml": _y("""
                services:
                  web:
                    image: x
                    volumes: ['${PWD}/data:/data']
                    environment: {W: '${FROM_DOTENV}'}
                    env_file: [{path: raw.env, format: raw}]
                """),
            ".env": "FROM_DOTENV=${PWD}/x\n",
            "raw.env": "A='q'\nB=$X # c\n",
        },
        [],
        {"PWD": "/elsewhere"},  # the shell's PWD wins; without one, the working directory
    ),
    "nested-extends-include-override": (
        {
            "compose.yaml": _y("""
                include:
                  - inc/compose.yaml
                services:
                  web:
                    extends: {file: a/base.yaml, service: mid}
                    environment: [TOP=1]
                volumes:
                  named: {}
                """),
            "a/base.yaml": _y("""
                services:
                  mid:
                    extends: {file: b/deep.yaml, service: deep}
                    volumes: ["./mid:/mid"]
                    env_file: mid.env
                """),
            "a/mid.env": "MID=1\n",
            "a/b/deep.yaml": _y("""
                services:
                  deep:
                    image: deep
                    build: {context: ., dockerfile: D}
                    volumes: ["./deep:/deep", "named:/named"]
                    secrets: [s]
                """),
            "inc/compose.yaml": _y("""
                include:
                  - path: inner/compose.yaml
                    env_file: inner.env
                services:
                  incsvc:
                    image: "inc:${IV:-none}"
                    volumes: ["./incdata:/x"]
                secrets:
                  s:
                    file: ./secret.txt
                """),
            "inc/.env": "IV=fromincdotenv\n",
            "inc/inner.env": "IN=frominner\n",
            "inc/inner/compose.yaml": _y("""
                services:
                  inner:
                    image: "inner:${IN:-none}-${IV:-none}"
                    build: .
                """),
            "ov/override.yaml": "services:\n  web:\n    volumes: ['./ovdata:/ov']\n",
        },
        ["-f", "compose.yaml", "-f", "ov/override.yaml"],
        {},
    ),
    "multi-document-reset-under-merge-key": (
        {
            "compose.yaml": _y("""
                x-base: &base
                  image: busybox
                  ports: ["80:80"]
                  environment: {A: "1"}
                services:
                  web:
                    <<: *base
                    ports: !reset []
                    environment: !override {B: "2"}
                ---
                services:
                  other:
                    image: x
                  web:
                    labels: {doc2: "yes"}
                """),
        },
        [],
        {},
    ),
    "merge-rules-wide": (
        {
            "a.yaml": _y("""
                services:
                  web:
                    image: x
                    build: .
                    networks: [front]
                    ulimits: {nofile: {soft: 10, hard: 20}, nproc: 5}
                    deploy: {resources: {limits: {cpus: "0.5", memory: 50M}}, labels: [a=1]}
                    secrets: [s1, {source: s2, target: /t2}]
                    configs: [c1]
                    devices: ["/dev/a:/dev/a"]
                    extra_hosts: ["h1=1.1.1.1", "h2:2.2.2.2"]
                    dns: 1.1.1.1
                    tmpfs: /tmp
                    sysctls: {net.core.somaxconn: 1024}
                    healthcheck: {test: "curl a", interval: 10s}
                    logging: {driver: json-file, options: {max-size: 1m}}
                    cap_add: [NET_ADMIN]
                    expose: ["80"]
                    links: [db:alias]
                    command: run
                    entrypoint: [sh, -c]
                    profiles: [p]
                  db: {image: db}
                networks:
                  front:
                    labels: [l1=a]
                    ipam: {config: [{subnet: 10.0.0.0/24, gateway: 10.0.0.1}]}
                  back: {}
                volumes:
                  v: {labels: {a: b}}
                secrets:
                  s1: {file: ./s1}
                  s2: {file: ./s2}
                configs:
                  c1: {file: ./c1}
                  c2: {file: ./c2}
                """),
            "b.yaml": _y("""
                services:
                  web:
                    build: {dockerfile: Other, args: [X=1]}
                    networks: {back: {aliases: [b]}}
                    ulimits: {nofile: {soft: 15, hard: 30}, nproc: 7}
                    deploy: {resources: {limits: {memory: 60M}}, labels: {b: "2"}}
                    secrets: [{source: s1, target: /run/secrets/s1, mode: 0400}]
                    configs: [{source: c2, target: /c2}]
                    devices: ["/dev/b:/dev/a"]
                    extra_hosts: ["h1=1.1.1.1", "h3=3.3.3.3"]
                    dns: 8.8.8.8
                    tmpfs: [/run]
                    sysctls: [net.ipv4.ip_forward=1]
                    healthcheck: {test: ["CMD", "true"], retries: 3}
                    logging: {options: {max-file: "3"}}
                    cap_add: [NET_ADMIN, SYS_TIME]
                    expose: [80, "81"]
                    links: [db:other]
                    entrypoint: sh
                    profiles: [p, q]
                networks:
                  front:
                    labels: {l2: b}
                    ipam: {config: [{subnet: 10.0.0.0/24, ip_range: 10.0.0.128/25}, {subnet: 10.1.0.0/24}]}
                volumes:
                  v: {labels: [c=d]}
                """),
        },
        ["-f", "a.yaml", "-f", "b.yaml", "--profile", "q"],
        {},
    ),
    "timestamps-in-extensions": (
        {
            "compose.yaml": _y("""
                x-when: [2024-01-02, 2024-1-2t1:2:3.5+01:00, 2024-02-30]
                services: {web: {image: x}}
                """)
        },
        [],
        {},
    ),
    "port-unicity-across-spellings": (
        {
            "a.yaml": _y("""
                services:
                  web:
                    image: x
                    ports: ["0.0.0.0:8080:80", "9000:9000/udp", "7000-7001:7000-7001", "127.0.0.1::5000"]
                """),
            "b.yaml": _y("""
                services:
                  web:
                    ports:
                      - "8080:80"
                      - {target: 9000, published: "9000", protocol: udp}
                      - "7000-7001:7000-7001"
                      - "127.0.0.1::5000"
                      - {target: 6000}
                      - "6000"
                """),
        },
        ["-f", "a.yaml", "-f", "b.yaml"],
        {},
    ),
    "compose-file-from-dotenv": (
        {
            "app/one.yaml": "services:\n  web: {image: x, environment: ['V=${V}']}\n",
            "app/two.yaml": "services:\n  web: {environment: ['W=${W}']}\n",
            "app/.env": "W=from-app\n",
            ".env": "COMPOSE_FILE=app/one.yaml:app/two.yaml\nV=from-cwd\n",
        },
        [],
        {},
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_as_reference(name: str, tree: Callable[[Project], Path]) -> None:
    files, args, env = CASES[name]
    root = tree(files)
    expected, stderr = reference_config(root, args, env)
    assert expected is not None, stderr
    assert ours_config(root, args, env) == expected


ERRORS: dict[str, tuple[str, str]] = {
    "timestamp-where-a-string-is-due": (
        "services:\n  web:\n    image: x\n    environment:\n      DATE: 2024-01-02\n",
        "DATE",
    ),
    "extends-cycle": (
        "services:\n  a: {extends: b}\n  b: {extends: a}\n",
        "ircular reference",
    ),
    "include-cycle": (
        "include: [compose.yaml]\nservices: {}\n",
        "include cycle detected",
    ),
    "required": (
        "services:\n  web: {image: '${X:?x is needed}'}\n",
        "required variable X is missing a value: x is needed",
    ),
    "bad-template": (
        "services:\n  web: {image: '${X'}\n",
        "invalid interpolation format",
    ),
    "duplicate-key": (
        "services:\n  web:\n    image: a\n    image: b\n",
        'mapping key "image" already defined at line 3',
    ),
    "non-string-key": (
        "services:\n  web:\n    image: a\n    labels: {1: a}\n",
        "non-string key in services.web.labels: 1",
    ),
    "eager-default": (
        "services:\n  web: {image: '${HOME:-${B:?need b}}'}\n",
        "required variable B is missing a value: need b",
    ),
    "bad-cast": (
        "services:\n  web: {image: a, tty: '${T:-maybe}'}\n",
        "invalid boolean: maybe",
    ),
}


def test_a_service_cannot_extend_one_it_includes(tree: Callable[[Project], Path]) -> None:
    root = tree(
        {
            "compose.yaml": "include: [lib/compose.yaml]\nservices:\n  web: {extends: libsvc}\n",
            "lib/compose.yaml": "services:\n  libsvc: {image: lib}\n",
        }
    )
    expected, stderr = reference_config(root, [])
    message = 'service "libsvc" not found'
    assert expected is None and message in stderr
    with pytest.raises(ConfigError, match=message):
        ours_config(root, [])


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_like_reference(name: str, tree: Callable[[Project], Path]) -> None:
    text, message = ERRORS[name]
    root = tree({"compose.yaml": text})
    expected, stderr = reference_config(root, [])
    assert expected is None and message in stderr
    with pytest.raises(ConfigError) as err:
        ours_config(root, [])
    assert message in str(err.value)
    assert "\n" not in str(err.value)
