from __future__ import annotations

import pytest

from composer.errors import ConfigError
from composer.loader.merge import merge
from composer.loader.yamlsrc import parse_documents, strip_tags


def merged(*texts: str) -> dict:
    out: dict = {}
    for i, text in enumerate(texts):
        out = merge(out, parse_documents(text, f"f{i}.yaml")[0].data)
    return strip_tags(out)


def web(*texts: str) -> dict:
    return merged(*texts)["services"]["web"]


def test_mappings_merge_sequences_append_scalars_replace() -> None:
    svc = web(
        "services: {web: {image: a, dns: 1.1.1.1, cap_add: [A], build: .,"
        " healthcheck: {test: [CMD, a], retries: 2}}}",
        "services: {web: {image: b, dns: [8.8.8.8], cap_add: [A, B], build: {target: t},"
        " healthcheck: {test: x}}}",
    )
    assert svc["image"] == "b"
    assert svc["dns"] == ["1.1.1.1", "8.8.8.8"]
    assert svc["cap_add"] == ["A", "B"]
    assert svc["build"] == {"context": ".", "target": "t"}
    assert svc["healthcheck"] == {"test": "x", "retries": 2}


def test_null_does_not_replace_and_command_is_replaced() -> None:
    svc = web("services: {web: {image: a, command: [x, y]}}", "services: {web: {image: null, command: z}}")
    assert svc == {"image": "a", "command": "z"}


def test_maps_written_as_lists_merge_by_key() -> None:
    svc = web(
        "services: {web: {environment: [A=1, B=2], labels: {l1: a}, extra_hosts: ['h1:1.1.1.1']}}",
        "services: {web: {environment: {B: 3, C: null}, labels: [l2=b], extra_hosts: {h2: 2.2.2.2}}}",
    )
    assert svc["environment"] == ["A=1", "B=3", "C"]
    assert svc["labels"] == ["l1=a", "l2=b"]
    assert svc["extra_hosts"] == ["h1:1.1.1.1", "h2=2.2.2.2"]


def test_unique_by_key_sequences() -> None:
    svc = web(
        "services: {web: {ports: ['8080:80', '9000:9000'], volumes: ['./a:/data', '/x:/y'], expose: ['1', 2],"
        " secrets: [s1, {source: s2, target: /t}]}}",
        "services: {web: {ports: [{target: 80, published: '8080'}, '9001:9001'], volumes: ['./b:/data'],"
        " expose: [1, 3], secrets: [{source: s1, target: /run/secrets/s1, mode: 0400}]}}",
    )
    assert svc["ports"] == [{"target": 80, "published": "8080"}, "9000:9000", "9001:9001"]
    assert svc["volumes"] == ["./b:/data", "/x:/y"]
    assert svc["expose"] == [1, 2, 3]  # the later entry takes the earlier one's place
    assert svc["secrets"] == [
        {"source": "s1", "target": "/run/secrets/s1", "mode": 256},
        {"source": "s2", "target": "/t"},
    ]


def test_depends_on_networks_and_logging() -> None:
    svc = web(
        "services: {web: {depends_on: [db], networks: [front],"
        " logging: {driver: json-file, options: {a: '1'}}}}",
        "services: {web: {depends_on: {db: {condition: service_healthy}}, networks: {back: {}},"
        " logging: {driver: syslog}}}",
    )
    assert svc["depends_on"] == {"db": {"condition": "service_healthy", "required": True}}
    assert svc["networks"] == {"front": None, "back": {}}
    assert svc["logging"] == {"driver": "syslog"}


def test_reset_and_override() -> None:
    svc = web(
        "services: {web: {ports: ['80:80'], environment: {A: 1, B: 2}, image: a}}",
        "services: {web: {ports: !reset [], environment: !override {C: 3}}}",
    )
    assert svc == {"environment": {"C": 3}, "image": "a"}


def test_type_conflict_is_an_error() -> None:
    with pytest.raises(ConfigError, match="cannot override services.web.ulimits"):
        web("services: {web: {ulimits: {nofile: 1}}}", "services: {web: {ulimits: [1]}}")
