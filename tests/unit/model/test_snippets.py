"""One service setting at a time, through our stages and through the reference: same JSON, same order.

Each snippet is one line of YAML under `services.a` (image busybox), beside a buildable service and a
volume and a secret it may refer to.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from composer.errors import ConfigError
from composer.loader.normalize import json_view, yaml_view

from .conftest import Reference, load

SNIPPETS = [
    "command: [sleep, 10]",
    "mem_limit: 1ki",
    'mem_limit: "1 g"',
    "mem_limit: 1KiB",
    "mem_limit: 1.5m",
    "mem_limit: 1b",
    "mem_limit: 0.5",
    "mem_limit: 1e3",
    "shm_size: 10T",
    "stop_grace_period: 100us",
    "stop_grace_period: 2d",
    "stop_grace_period: 1w",
    "stop_grace_period: 1.5ms",
    "stop_grace_period: 1h0m0s",
    "stop_grace_period: 90000h",
    'stop_grace_period: "-1s"',
    "stop_grace_period: 1µs",
    "stop_grace_period: 0.000001s",
    "healthcheck: {interval: 1m1ms}",
    "healthcheck: {interval: 3601s}",
    'deploy: {resources: {limits: {cpus: "2"}}}',
    "deploy: {resources: {limits: {cpus: 0.1}}}",
    "cpus: 1.333333",
    'cpus: "0.1"',
    'volumes: ["a::b"]',
    'volumes: ["ab::c"]',
    'volumes: ["vol:/x:ro:z"]',
    'ports: ["::1:80:80"]',
    'ports: ["[::]:80:80", "0.0.0.0::80/udp"]',
    'ports: ["8000-8001:80-81/sctp"]',
    'ports: ["65535:65535"]',
    'ports: ["0:80"]',
    'ports: ["80-79"]',
    'ports: ["127.0.0.1:8000-8001:80"]',
    'ports: [{target: "80", published: "8080", protocol: udp, mode: ingress}]',
    'ports: [80, "80", {target: 80}]',
    'ports: ["[fe80::1%eth0]:80:80"]',
    'ports: ["1.2.3.4:80:80", "1.2.3.4:80:80/udp"]',
    'ports: ["80/tcp", "80/udp"]',
    'volumes: ["~user/x:/x"]',
    'volumes: ["/a/../b/./c:/x/../y"]',
    'volumes: ["C:\\\\data:/data"]',
    'volumes: ["nfs:/x:ro,z"]',
    'volumes: ["./x:/x:cached"]',
    'volumes: ["./x:/x:delegated,ro"]',
    'volumes: ["vol:/x:ro,nocopy"]',
    'volumes: ["/x:/y:rprivate,Z"]',
    'volumes: ["/x"]',
    'volumes: ["a:/b:c:d"]',
    'volumes: [{type: bind, source: "~", target: /h}]',
    "volumes: [{type: volume, source: vol, target: /v, volume: {subpath: a/b}}]",
    "volumes: [{type: cluster, source: x, target: /c}]",
    'command: echo "a\\"b" \'c\\d\' e\\ f',
    "command: echo a && echo b",
    'command: sh -c "x" ; y',
    "command: a|b",
    "command: echo a # comment",
    "command: echo \"\" ''",
    'command: echo "unterminated',
    'command: \'echo "x" \\"y\\"\'',
    "command: echo a\\\\b \"c\\\\d\" 'e\\\\f'",
    'command: "  spaced   out  "',
    "command: echo $$(date) `date`",
    "command: echo a>b",
    'command: "echo \\"\\\\$HOME\\""',
    "command: echo tab\tsep",
    'entrypoint: "\\"quoted exe\\" --flag=\\"a b\\""',
    "command: echo 'it''s'",
    "command: echo \"a\"'b'c",
    "command: echo )",
    "command: echo (a)",
    "command: echo $(date +%s) done",
    "command: echo `date; x` y",
    "command: echo \"a\\tb\" a\\tb 'a\\tb'",
    "command: echo a\\nb",
    "command: 2>x echo",
    "command: echo a 2>&1",
    "command: echo a12>b",
    'command: echo "$(x)"',
    "command: echo \\",
    "command: echo 'a",
    "command: x $(a (b) c)",
    'command: ["a", 1, true]',
    'command: "sh -c \'echo \\"a b\\"\'"',
    "command: echo $$HOME",
    'entrypoint: ["/x"]',
    'environment: ["A=1", "B=", "C"]',
    'environment: {A: null, B: "", C: 0, D: false}',
    "labels: {a: null}",
    'labels: ["a=b=c", "d"]',
    'ports: ["1.2.3.4:8080-8081:80-81/udp"]',
    'ports: ["8080:80", "8080:80/udp"]',
    'ports: [{target: 80, host_ip: 127.0.0.1, published: "8000-8005", name: web, app_protocol: http}]',
    'ports: ["80"]',
    'ports: ["${P:-9000}:80"]',
    'volumes: ["./a:/a:z", "./b:/b:Z", "/c:/c:ro,shared"]',
    'volumes: ["vol:/v:rw"]',
    "volumes: [{type: volume, source: vol, target: /v, read_only: true, volume: {nocopy: false}}]",
    'volumes: [{type: tmpfs, target: /t, tmpfs: {size: "1g", mode: 0755}}]',
    "volumes: [{type: npipe, source: x, target: /x}]",
    "volumes: [{type: image, source: alpine, target: /img, image: {subpath: etc}}]",
    (
        'healthcheck: {test: ["CMD-SHELL", "exit 0"], interval: "1m", timeout: "30s", retries: 5, '
        'start_period: "0s"}'
    ),
    'healthcheck: {disable: false, test: "x"}',
    'stop_grace_period: "1h1m1.5s"',
    "restart: unless-stopped",
    "deploy: {mode: global, endpoint_mode: dnsrr, labels: {a: 1}}",
    (
        'deploy: {resources: {reservations: {cpus: "0.25", memory: 10M, '
        "devices: [{capabilities: [gpu], count: all}]}}}"
    ),
    (
        'deploy: {resources: {reservations: {devices: [{capabilities: [gpu], device_ids: ["0"], '
        "driver: nvidia, options: {a: 1}}]}}}"
    ),
    (
        "deploy: {restart_policy: {condition: any, max_attempts: 3, window: 120s}, "
        "rollback_config: {parallelism: 1, order: start-first, failure_action: pause, monitor: 1m, "
        "max_failure_ratio: 0.5}}"
    ),
    (
        "deploy: {placement: {constraints: [a==b], preferences: [{spread: node.labels.zone}], "
        "max_replicas_per_node: 2}}"
    ),
    "cpu_count: 2",
    "cpu_percent: 50",
    "cpu_period: 100000",
    "cpu_quota: 50000",
    "cpu_rt_period: 1000",
    "cpu_rt_runtime: 100",
    'cpuset: "0-1"',
    "mem_swappiness: 0",
    "memswap_limit: -1",
    "oom_kill_disable: true",
    "pids_limit: -1",
    'extra_hosts: ["a:::1", "b=[::2]"]',
    'extra_hosts: {a: "1.1.1.1", b: null}',
    "sysctls: {net.ipv4.tcp_syncookies: 0}",
    'tmpfs: ["/run:rw,noexec,nosuid,size=65536k"]',
    "dns: [1.1.1.1, 8.8.8.8]",
    "dns_search: example.com",
    "dns_opt: [use-vc]",
    "domainname: foo.com",
    "ipc: shareable",
    "pid: host",
    "uts: host",
    "cgroup: host",
    "cgroup_parent: m-executor-abcd",
    "isolation: default",
    "mac_address: 02:42:ac:11:65:43",
    "runtime: runc",
    "stdin_open: true",
    "read_only: true",
    "stop_signal: SIGTERM",
    "volume_driver: local",
    "userns_mode: host",
    "platform: linux/arm64",
    "pull_policy: always",
    "pull_policy: build",
    'device_cgroup_rules: ["c 1:3 mr"]',
    'external_links: [redis_1, "project_db_1:mysql"]',
    'annotations: ["com.example.foo=bar"]',
    'logging: {driver: json-file, options: {max-size: "200k", max-file: "10"}}',
    "log_driver: syslog",
    'expose: [3000, "8000"]',
    "security_opt: [label:user:USER]",
    "credential_spec: {file: my-credential-spec.json}",
    'ulimits: {nproc: "65535", nofile: {soft: "20000", hard: "40000"}}',
    "storage_opt: {size: 20G}",
    "use_api_socket: true",
    "networks: {default: {aliases: [x]}}",
    "networks: [default]",
    'develop: {watch: [{path: ./, action: rebuild, include: ["*.go"], initial_sync: true}]}',
    "build: {context: https://github.com/docker/rootfs.git#main}",
    (
        "build: {context: ., args: {A: null, B: 1}, cache_to: [type=local], no_cache: false, "
        "privileged: true, isolation: hyperv, entitlements: [network.host], sbom: true, "
        'provenance: "mode=max"}'
    ),
    "build: {context: ., dockerfile: ../Other.Dockerfile}",
    "build: {context: ., secrets: [{source: s, target: t}]}",
    'build: {context: ., additional_contexts: {img: "docker-image://alpine", svc: "service:other"}}',
    "init: true",
    "attach: false",
    "post_start: [{command: echo hi, privileged: true, working_dir: /x, environment: {A: 1}}]",
    'pre_stop: [{command: [echo, bye], user: "0"}]',
    "scale: 0",
    "deploy: {replicas: 0}",
    "hostname: my-host",
    "links: [other]",
    "oom_score_adj: 0",
    'privileged: "true"',
    "shm_size: 0",
]

TAIL = """\
  other:
    build: .
volumes:
  vol: {}
secrets:
  s: {file: ./s}
"""


def escaped(value: Any) -> Any:
    """Printed output escapes `$` as `$$` (the printer does it; the canonical dict holds real values)."""
    if isinstance(value, str):
        return value.replace("$", "$$")
    if isinstance(value, list):
        return [escaped(v) for v in value]
    if isinstance(value, dict):
        return {k: escaped(v) for k, v in value.items()}
    return value


@pytest.mark.reference
@pytest.mark.parametrize("snippet", SNIPPETS)
def test_snippet_matches_reference(snippet: str, project_dir: Path, reference: Reference) -> None:
    text = "services:\n  a:\n    image: busybox\n    " + snippet + "\n" + TAIL
    (project_dir / "compose.yaml").write_text(text)
    done = reference.run(project_dir, "config", "--format", "json")
    if done.returncode != 0:  # both must refuse it
        with pytest.raises(ConfigError):
            load(project_dir, text)
        return
    canonical = load(project_dir, text)
    got = json.dumps(escaped(json_view(canonical)), indent=1)
    assert got == json.dumps(json.loads(done.stdout), indent=1)
    as_yaml = reference.run(project_dir, "config", "--format", "yaml")
    assert escaped(yaml_view(canonical)) == yaml.safe_load(as_yaml.stdout)
