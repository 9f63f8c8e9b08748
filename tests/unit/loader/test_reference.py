"""Differential checks against the reference docker-compose for the loader's trickier behaviours."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from composer.errors import ConfigError
from tests.unit.loader.conftest import ours_config, reference_config

pytestmark = pytest.mark.reference

CASES: dict[str, tuple[dict[str, str], list[str], dict[str, str]]] = {
    "merge-rules": (
        {
            "a.yaml": (
                "services:\n  web:\n    image: busybox\n    ports: ['8080:80', '9000:9000']\n"
                "    expose: ['1', 2]\n    volumes: ['./a:/data', '/x:/y']\n    environment: [A=1, B=2]\n"
                "    labels: {l1: a}\n    command: [a, b]\n    dns: 1.1.1.1\n    extra_hosts: ['h1:1.1.1.1']\n"
                "    depends_on: [db]\n    logging: {driver: json-file, options: {a: '1'}}\n"
                "    healthcheck: {test: [CMD, x], retries: 2}\n  db:\n    image: busybox\n"
            ),
            "b.yaml": (
                "services:\n  web:\n    image: null\n    ports: ['8080:80', '9001:9001']\n    expose: ['1', 3]\n"
                "    volumes: ['./b:/data']\n    environment: {B: 3, C: null}\n    labels: [l2=b]\n"
                "    command: c\n    dns: [8.8.8.8]\n    extra_hosts: {h2: 2.2.2.2}\n"
                "    depends_on: {db: {condition: service_healthy}}\n    logging: {driver: syslog}\n"
                "    healthcheck: {test: [CMD, y]}\n"
            ),
        },
        ["-f", "a.yaml", "-f", "b.yaml"],
        {},
    ),
    "reset-override": (
        {
            "compose.yaml": (
                "services:\n  web:\n    image: busybox\n    ports: ['80:80']\n    environment: {A: '1', B: '2'}\n"
                "    labels: [x=1]\n"
            ),
            "compose.override.yaml": (
                "services:\n  web:\n    ports: !reset []\n    environment: !override {C: '3'}\n    labels: !reset null\n"
            ),
        },
        [],
        {},
    ),
    "dotenv-and-env-file": (
        {
            "compose.yaml": (
                "services:\n  web:\n    image: busybox\n    env_file: [a.env, {path: missing.env, required: false}]\n"
                "    environment: [X, Y, Q, 'Z=${DOT}']\n"
            ),
            "a.env": (
                'X=fromfile\nQ=fq\nR=${DOT}\nexport S: "a\\nb $$x \\$y"\nT=\'${DOT} \\n\' # c\nU=v #c\nW=a#b\n'
                "BARE\n"
            ),
            ".env": "DOT=dotval\nY=ydot\nBARE=bareval\nQ=fromdotenv\n",
        },
        [],
        {"Q": ""},
    ),
    "interpolation": (
        {
            "compose.yaml": (
                "name: ${PN:-My_Project}\n"
                "services:\n  web:\n    image: 'busybox:${B:-${C:-${A}}}'\n"
                "    environment:\n      E1: '${E:-e}/${E-e}/${A:+p}/${E+q}/${E:+r}/$$A/$A$$'\n"
                "      E2: '${B:-{x}}z'\n      E3: '${COMPOSE_PROJECT_NAME}'\n      E4: yes\n      E5: 0777\n"
                "      E6: on\n    privileged: '${T}'\n    scale: '${N}'\n    labels:\n      ${A}: key-not-interpolated\n"
            ),
        },
        [],
        {"A": "a", "E": "", "T": "true", "N": "2"},
    ),
    "anchors": (
        {
            "compose.yaml": (
                "x-common: &common\n  image: busybox\n  environment: {A: '1'}\n"
                "services:\n  a:\n    <<: *common\n    environment: {B: '2'}\n  b: *common\n"
            )
        },
        [],
        {},
    ),
    "extends-and-include": (
        {
            "compose.yaml": (
                "include: [inc/compose.yaml]\n"
                "services:\n  base: {image: b, environment: {A: '1'}, ports: ['80:80']}\n"
                "  mid: {extends: base, environment: {B: '2'}}\n  web: {extends: mid, command: run}\n"
                "  ext: {extends: {file: lib/base.yaml, service: svc}, image: mine}\n"
            ),
            "lib/base.yaml": (
                "services:\n  svc: {image: lib, build: ., volumes: ['./data:/data'], env_file: e.env}\n"
            ),
            "lib/e.env": "FROM_LIB=1\n",
            "inc/compose.yaml": (
                "services:\n  inc: {image: i, build: ., environment: ['V=${V}', W], volumes: ['./d:/d']}\n"
            ),
            "inc/.env": "V=subv\nW=w\n",
        },
        [],
        {},
    ),
    "profiles": (
        {
            "compose.yaml": (
                "services:\n  a: {image: x, depends_on: [b]}\n  b: {image: x, profiles: [p1]}\n"
                "  c: {image: x, profiles: [p2]}\n  e: {image: x}\n"
            )
        },
        ["--profile", "p1"],
        {"COMPOSE_PROFILES": "p2"},
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
def test_same_as_reference(name: str, tree: Callable[[dict[str, str]], Path]) -> None:
    files, args, env = CASES[name]
    root = tree(files)
    expected, stderr = reference_config(root, args, env)
    assert expected is not None, stderr
    assert ours_config(root, args, env) == expected


ERRORS: dict[str, tuple[dict[str, str], str]] = {
    "extends-cycle": ("services:\n  a: {extends: b}\n  b: {extends: a}\n", "ircular reference"),
    "include-conflict": ("include: [compose.yaml]\nservices: {}\n", "include cycle detected"),
    "required": ("services:\n  web: {image: '${X:?x is needed}'}\n", "required variable X is missing a value: x is needed"),
    "bad-template": ("services:\n  web: {image: '${X'}\n", "invalid interpolation format"),
    "duplicate-key": ("services:\n  web:\n    image: a\n    image: b\n", 'mapping key "image" already defined at line 3'),
    "non-string-key": ("services:\n  web:\n    image: a\n    labels: {1: a}\n", "non-string key in services.web.labels: 1"),
    "bad-cast": ("services:\n  web: {image: a, tty: '${T:-maybe}'}\n", "invalid boolean: maybe"),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_like_reference(name: str, tree: Callable[[dict[str, str]], Path]) -> None:
    text, message = ERRORS[name]
    root = tree({"compose.yaml": text})
    expected, stderr = reference_config(root, [])
    assert expected is None and message in stderr
    with pytest.raises(ConfigError) as err:
        ours_config(root, [])
    assert message in str(err.value)
    assert "\n" not in str(err.value)
