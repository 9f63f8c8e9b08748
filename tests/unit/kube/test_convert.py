"""`composer convert --format kubernetes`: every object validates against the Kubernetes API schemas of two
releases (strict: no unknown fields), and each Compose setting lands where the module docstrings say."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from composer.kube import Manifests, to_kubernetes
from composer.loader.pipeline import LoadOptions, load_project

ROOT = Path(__file__).resolve().parents[3]
# The oldest and newest releases whose schemas the kubernetes-validate package ships here.
VERSIONS = ("1.29", "1.37")

FEATURES = """
name: shop
services:
  web:
    image: nginx:1.27
    command: ["sh", "-c", "echo $$(date) $$$$ $$HOME; exec nginx -g 'daemon off;'"]
    environment:
      MODE: "prod"
      UNSET:
    ports: ["8080:80", {target: 9100, published: "9100", mode: host}]
    expose: ["9000-9001/udp"]
    depends_on:
      api: {condition: service_healthy}
      cache: {condition: service_started, required: false}
    deploy:
      replicas: 3
      update_config: {parallelism: 2, order: start-first, delay: 5s}
      resources: {limits: {cpus: "0.5", memory: 64M}, reservations: {memory: 32M}}
      placement: {constraints: ["node.labels.zone == eu", "node.hostname != old"]}
      labels: {team: web}
    user: "101:101"
    cap_drop: [ALL]
    cap_add: [CAP_NET_BIND_SERVICE]
    read_only: true
    tmpfs: ["/var/cache/nginx:size=1m"]
    shm_size: 128m
    extra_hosts: ["db.local=10.0.0.5", "cache.local:10.0.0.5"]
    sysctls: {net.core.somaxconn: "1024"}
    platform: linux/arm64
    stop_grace_period: 1m30s
    labels: {com.example.tier: front}
    post_start:
      - command: ["touch", "/tmp/started"]
    secrets: [{source: token, mode: "0400"}, {source: token, target: copy}]
    configs: [{source: site, target: /etc/nginx/conf.d/site.conf}]
    volumes: [shared:/srv/shared]
  api:
    image: registry.local/api:2
    ports: ["8000"]
    healthcheck:
      test: ["CMD-SHELL", "wget -qO- http://127.0.0.1:8000/health"]
      interval: 500ms
      timeout: 3s
      retries: 4
      start_period: 10s
    deploy: {endpoint_mode: dnsrr}
    volumes: [shared:/data, apidata:/var/lib/api, {type: volume, target: /scratch}]
  cache:
    image: redis:7
    deploy: {mode: global}
  migrate:
    build: ./migrate
    deploy: {mode: replicated-job, replicas: 2, restart_policy: {condition: none}}
    init: true
    logging: {driver: syslog}
secrets:
  token: {environment: SHOP_TOKEN}
  outside: {external: true}
configs:
  site: {content: "server { listen 80; }"}
volumes:
  shared: {}
  apidata: {}
"""


def convert_text(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> Manifests:
    (tmp_path / "compose.yaml").write_text(text)
    loaded = load_project(
        LoadOptions(files=[str(tmp_path / "compose.yaml")], environ=environ or {}, working_dir=str(tmp_path))
    )
    return to_kubernetes(loaded.project, loaded.working_dir, loaded.environment)


def find(manifests: Manifests, kind: str, name: str) -> dict[str, Any]:
    matches = [o for o in manifests.objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(matches) == 1, (
        f"{kind}/{name} not in {[(o['kind'], o['metadata']['name']) for o in manifests.objects]}"
    )
    return matches[0]


def assert_valid(manifests: Manifests) -> None:
    assert manifests.objects
    for obj in manifests.objects:
        for version in VERSIONS:
            kubernetes_validate.validate(obj, version, strict=True)


@pytest.fixture
def shop(tmp_path: Path) -> Manifests:
    (tmp_path / "migrate").mkdir()
    return convert_text(tmp_path, FEATURES, {"SHOP_TOKEN": "s3cret"})


def test_every_object_is_valid_for_two_kubernetes_releases(shop: Manifests) -> None:
    assert_valid(shop)


def test_examples_convert_to_valid_manifests() -> None:
    for compose in sorted((ROOT / "examples").glob("*/compose.yaml")):
        loaded = load_project(LoadOptions(files=[str(compose)], environ={}, working_dir=str(compose.parent)))
        assert_valid(to_kubernetes(loaded.project, loaded.working_dir, loaded.environment))


def test_objects_come_in_apply_order(shop: Manifests) -> None:
    kinds = [o["kind"] for o in shop.objects]
    assert kinds.index("Secret") < kinds.index("PersistentVolumeClaim") < kinds.index("Service")
    assert max(i for i, k in enumerate(kinds) if k == "Service") < kinds.index("Deployment")


def test_workload_kinds_follow_deploy_mode_and_volumes(shop: Manifests) -> None:
    web = find(shop, "Deployment", "web")
    assert web["spec"]["replicas"] == 3
    api = find(shop, "StatefulSet", "api")  # owns apidata alone
    assert api["spec"]["serviceName"] == "api"
    assert [t["metadata"]["name"] for t in api["spec"]["volumeClaimTemplates"]] == ["shop-apidata"]
    assert "replicas" not in find(shop, "DaemonSet", "cache")["spec"]
    job = find(shop, "Job", "migrate")
    assert (job["spec"]["completions"], job["spec"]["parallelism"]) == (2, 2)
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert job["spec"]["template"]["spec"]["containers"][0]["image"] == "shop-migrate"


def test_shared_named_volume_is_one_read_write_many_claim(shop: Manifests) -> None:
    claim = find(shop, "PersistentVolumeClaim", "shop-shared")
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    for kind, name in (("Deployment", "web"), ("StatefulSet", "api")):
        pod = find(shop, kind, name)["spec"]["template"]["spec"]
        assert {"name": "shop-shared", "persistentVolumeClaim": {"claimName": "shop-shared"}} in pod[
            "volumes"
        ]
    api = find(shop, "StatefulSet", "api")["spec"]["template"]["spec"]
    assert {"name": "scratch-2", "emptyDir": {}} in api["volumes"]


def test_container_settings(shop: Manifests) -> None:
    pod = find(shop, "Deployment", "web")["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    # Kubernetes would expand $(date) and read $$ as $: both are escaped so the shell sees what Compose gave
    assert c["args"] == ["sh", "-c", "echo $$(date) $$$ $HOME; exec nginx -g 'daemon off;'"]
    assert c["env"] == [{"name": "MODE", "value": "prod"}]
    assert c["ports"] == [
        {"containerPort": 80, "protocol": "TCP"},
        {"containerPort": 9100, "protocol": "TCP", "hostPort": 9100},
        {"containerPort": 9000, "protocol": "UDP"},
        {"containerPort": 9001, "protocol": "UDP"},
    ]
    assert c["resources"] == {
        "limits": {"memory": "67108864", "cpu": "500m"},
        "requests": {"memory": "33554432"},
    }
    assert c["securityContext"] == {
        "readOnlyRootFilesystem": True,
        "capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]},
        "runAsUser": 101,
        "runAsGroup": 101,
    }
    assert c["lifecycle"] == {"postStart": {"exec": {"command": ["touch", "/tmp/started"]}}}
    assert pod["terminationGracePeriodSeconds"] == 90
    assert pod["hostAliases"] == [{"ip": "10.0.0.5", "hostnames": ["cache.local", "db.local"]}]
    assert pod["securityContext"] == {"sysctls": [{"name": "net.core.somaxconn", "value": "1024"}]}
    assert pod["nodeSelector"] == {"kubernetes.io/os": "linux", "kubernetes.io/arch": "arm64", "zone": "eu"}
    terms = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"
    ]
    assert terms == [
        {"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "NotIn", "values": ["old"]}]}
    ]
    mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
    assert mounts["/dev/shm"]["name"] == "dshm"
    assert {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": str(128 << 20)}} in pod["volumes"]
    assert {"name": "tmpfs-0", "emptyDir": {"medium": "Memory", "sizeLimit": str(1 << 20)}} in pod["volumes"]


def test_healthcheck_becomes_probes_and_depends_on_waits(shop: Manifests) -> None:
    (api,) = find(shop, "StatefulSet", "api")["spec"]["template"]["spec"]["containers"]
    probe = {
        "exec": {"command": ["/bin/sh", "-c", "wget -qO- http://127.0.0.1:8000/health"]},
        "periodSeconds": 1,
        "timeoutSeconds": 3,
        "failureThreshold": 4,
        "initialDelaySeconds": 10,
    }
    assert api["readinessProbe"] == probe and api["livenessProbe"] == probe
    web = find(shop, "Deployment", "web")["spec"]["template"]["spec"]
    (wait,) = web["initContainers"]  # cache is optional (required: false): no wait for it
    assert wait["name"] == "wait-for-api" and "nc -z -w 2 api 8000" in wait["command"][-1]


def test_services_in_cluster_published_and_headless(shop: Manifests) -> None:
    web = find(shop, "Service", "web")["spec"]
    assert "type" not in web and "clusterIP" not in web
    assert [(p["port"], p["targetPort"]) for p in web["ports"]] == [
        (80, 80),
        (9100, 9100),
        (9000, 9000),
        (9001, 9001),
    ]
    published = find(shop, "Service", "web-published")["spec"]
    assert published["type"] == "LoadBalancer"
    assert [(p["port"], p["targetPort"]) for p in published["ports"]] == [
        (8080, 80)
    ]  # host-mode 9100 is a hostPort
    assert find(shop, "Service", "api")["spec"]["clusterIP"] == "None"  # endpoint_mode: dnsrr
    strategy = find(shop, "Deployment", "web")["spec"]["strategy"]
    assert strategy == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 2, "maxUnavailable": 0}}


def test_secrets_and_configs(shop: Manifests) -> None:
    secret = find(shop, "Secret", "shop-token")
    assert base64.b64decode(secret["data"]["content"]) == b"s3cret"
    assert find(shop, "ConfigMap", "shop-site")["data"] == {"content": "server { listen 80; }"}
    assert not [o for o in shop.objects if o["metadata"]["name"] == "shop-outside"]  # external: not created
    pod = find(shop, "Deployment", "web")["spec"]["template"]["spec"]
    mounts = {m["mountPath"]: m for m in pod["containers"][0]["volumeMounts"]}
    assert mounts["/run/secrets/token"] == {
        "name": "secret-token",
        "mountPath": "/run/secrets/token",
        "subPath": "content",
        "readOnly": True,
    }
    assert "/run/secrets/copy" in mounts and "/etc/nginx/conf.d/site.conf" in mounts
    volume = next(v for v in pod["volumes"] if v["name"] == "secret-token")
    assert volume["secret"] == {
        "secretName": "shop-token",
        "items": [{"key": "content", "path": "content", "mode": 0o400}],
    }


def test_what_has_no_equivalent_is_named_once(shop: Manifests) -> None:
    warnings = shop.warnings
    assert len(warnings) == len(set(warnings))
    for line in (
        "service migrate: build is not converted: push shop-migrate to a registry the cluster pulls from",
        "service migrate: init has no Kubernetes equivalent (use an image with its own init process)",
        "service migrate: logging has no Kubernetes equivalent (not converted)",
        "service web: deploy.update_config.delay has no Kubernetes equivalent",
    ):
        assert line in warnings
    # converted settings are not warned about
    assert not [w for w in warnings if w.startswith(("service web: user", "service web: placement"))]


def test_unset_secret_variable_is_an_error(tmp_path: Path) -> None:
    from composer.errors import ComposerError

    with pytest.raises(ComposerError, match='environment variable "SHOP_TOKEN" required by secret'):
        convert_text(
            tmp_path, "services:\n  a: {image: x, secrets: [t]}\nsecrets:\n  t: {environment: SHOP_TOKEN}\n"
        )


def test_project_files_travel_as_config_maps(tmp_path: Path) -> None:
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text("<p>hi</p>\n")
    (tmp_path / "run.sh").write_text("#!/bin/sh\necho hi\n")
    os.chmod(tmp_path / "run.sh", 0o755)
    volumes = "[./site:/www:ro, ./run.sh:/run.sh, /var/log:/host-log]"
    text = f"services:\n  web:\n    image: x\n    volumes: {volumes}\n"
    manifests = convert_text(tmp_path, text)
    assert_valid(manifests)
    site = find(manifests, "ConfigMap", "web-0-site")
    assert site["data"] == {"index.html": "<p>hi</p>\n"}
    script = find(manifests, "ConfigMap", "web-1-run-sh")
    pod = find(manifests, "Deployment", "web")["spec"]["template"]["spec"]
    volume = next(v for v in pod["volumes"] if v["name"] == "web-1-run-sh")
    assert volume["configMap"]["items"] == [{"key": "content", "path": "run.sh", "mode": 0o755}]
    assert script["data"]["content"].startswith("#!/bin/sh")
    assert {"name": "host-2", "hostPath": {"path": "/var/log"}} in pod["volumes"]
    assert any("becomes a hostPath volume" in w for w in manifests.warnings)
    assert any("run.sh becomes a read-only ConfigMap volume" in w for w in manifests.warnings)


def test_names_become_dns_labels_and_collisions_are_refused(tmp_path: Path) -> None:
    from composer.errors import ComposerError

    manifests = convert_text(tmp_path, "services:\n  Back_End:\n    image: x\n    ports: ['80']\n")
    assert_valid(manifests)
    assert find(manifests, "Deployment", "back-end")
    with pytest.raises(ComposerError, match="same Kubernetes Deployment 'a-b'"):
        convert_text(tmp_path, "services:\n  a_b: {image: x}\n  a.b: {image: y}\n")
