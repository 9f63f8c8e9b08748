"""`composer stack` on a real 3-node Swarm (tests/support/swarm.py): deploy across nodes, DNS round-robin
between replicas, idempotent re-deploys with a plan, a changed secret rolling out, scaling, a failed update
rolled back, a node lost and its tasks rescheduled, and `stack rm` leaving nothing. One cluster per module
(about 10 s to make and remove); each test bounded by its own waits."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.dockerd import DOCKER
from tests.support.swarm import Cluster, swarm_cluster

pytestmark = [
    pytest.mark.root,
    pytest.mark.cluster,
    pytest.mark.skipif(shutil.which("dockerd") is None, reason="dockerd is not installed"),
]

ROOT = Path(__file__).resolve().parents[3]
STACK = "shop"


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with swarm_cluster(3) as made:
        made.docker(0, "swarm", "update", "--dispatcher-heartbeat", "1s")  # a lost node is noticed in seconds
        made.push_busybox()
        yield made


def project(tmp: Path, cluster: Cluster, *, replicas: int = 3, token: str = "one", command: str = "") -> Path:
    image = f"{cluster.registry}/busybox:latest"
    serve = (
        command
        or "echo serving && mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 80 -h /www"
    )
    text = f"""
services:
  web:
    image: {image}
    command: ["sh", "-c", {json.dumps(serve)}]
    secrets: [token]
    healthcheck:
      test: ["CMD", "wget", "-qO", "/dev/null", "http://127.0.0.1/"]
      interval: 1s
      timeout: 10s
      retries: 3
    deploy:
      replicas: {replicas}
      endpoint_mode: dnsrr
      update_config: {{parallelism: 1, order: start-first, failure_action: rollback, monitor: 3s}}
      labels: {{tier: front}}
  client:
    image: {image}
    command: ["sleep", "3600"]
    deploy:
      endpoint_mode: dnsrr
      placement: {{constraints: ["node.role == manager"]}}
secrets:
  token:
    environment: TOKEN
"""
    path = tmp / "compose.yaml"
    path.write_text(text)
    os.environ["TOKEN"] = token  # read through the environment like any secret from `environment:`
    return path


def composer(
    cluster: Cluster, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environ = {**cluster.manager_env, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "composer.cli.main", *args],
        env=environ, capture_output=True, text=True, timeout=240, cwd=ROOT,
    )  # fmt: skip


def until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.5)


def running(cluster: Cluster, service: str) -> list[tuple[str, str]]:
    """(node hostname, task id) of the service's running tasks."""
    out = cluster.docker(0, "service", "ps", f"{STACK}_{service}", "--filter", "desired-state=running",
                         "--format", "{{.Node}} {{.ID}} {{.CurrentState}}")  # fmt: skip
    return [(line.split()[0], line.split()[1]) for line in out.splitlines() if " Running " in f" {line} "]


def client_exec(cluster: Cluster, *argv: str) -> str:
    """Run a command in the client task's container (the client runs on the manager, node 0)."""
    ids = cluster.docker(
        0, "ps", "-q", "--filter", f"label=com.docker.swarm.service.name={STACK}_client"
    ).split()
    assert ids, "client container not found on the manager"
    return cluster.docker(0, "exec", ids[0], *argv)


def test_deploy_spreads_replicas_and_dns_round_robins(cluster: Cluster, tmp_path: Path) -> None:
    compose = project(tmp_path, cluster)
    result = composer(cluster, "-f", str(compose), "stack", "deploy", "--detach=false", STACK)
    assert result.returncode == 0, result.stderr
    assert "Creating service shop_web" in result.stdout and "3/3 running" in result.stdout
    assert "IPVS" not in result.stderr  # dnsrr needs none
    nodes = {node for node, _ in running(cluster, "web")}
    assert nodes == {"node0", "node1", "node2"}
    until(lambda: len(running(cluster, "client")) == 1, 60, "the client task")
    addresses = {
        line.split()[-1]
        for line in client_exec(cluster, "nslookup", "web").splitlines()[2:]
        if "Address" in line
    }
    assert len(addresses) == 3, addresses
    answers = {client_exec(cluster, "wget", "-qO-", f"http://{ip}/").strip() for ip in addresses}
    assert len(answers) == 3  # three containers, each answering with its own hostname
    assert client_exec(cluster, "cat", "/proc/1/cmdline") is not None
    web = cluster.docker(
        0,
        "exec",
        cluster.docker(0, "ps", "-q", "--filter", "label=com.docker.swarm.service.name=shop_web").split()[0],
        "cat",
        "/run/secrets/token",
    )
    assert web == "one"


def test_what_needs_ipvs_is_named_on_a_kernel_without_it(cluster: Cluster, tmp_path: Path) -> None:
    if os.path.exists("/proc/net/ip_vs"):
        pytest.skip("this kernel has IPVS: nothing to warn about")
    (tmp_path / "compose.yaml").write_text(
        f"services:\n  api:\n    image: {cluster.registry}/busybox:latest\n    ports: ['8090:80']\n"
    )
    plan = composer(cluster, "--dry-run", "-f", str(tmp_path / "compose.yaml"), "stack", "deploy", "vipcheck")
    assert plan.returncode == 0, plan.stderr
    assert "service vipcheck_api: no IPVS in this kernel, its virtual IP will not balance" in plan.stderr
    assert "ingress ports will not answer: use ports with mode: host" in plan.stderr
    assert plan.stdout.startswith("create network vipcheck_default (missing)")


def test_redeploy_without_change_does_nothing(cluster: Cluster, tmp_path: Path) -> None:
    compose = project(tmp_path, cluster)
    before = json.loads(cluster.docker(0, "service", "inspect", "shop_web"))[0]["Version"]["Index"]
    plan = composer(cluster, "--dry-run", "-f", str(compose), "stack", "deploy", STACK)
    assert plan.returncode == 0, plan.stderr
    assert plan.stdout == "nothing to do\n"
    again = composer(cluster, "-f", str(compose), "stack", "deploy", STACK)
    assert again.returncode == 0, again.stderr
    assert json.loads(cluster.docker(0, "service", "inspect", "shop_web"))[0]["Version"]["Index"] == before
    services = composer(cluster, "stack", "services", STACK)
    assert "shop_web" in services.stdout and "3/3" in services.stdout and "replicated" in services.stdout
    ps = composer(cluster, "stack", "ps", STACK)
    assert ps.stdout.count("shop_web.") == 3 and "node1" in ps.stdout


def test_changed_secret_rolls_out_and_the_old_one_goes(cluster: Cluster, tmp_path: Path) -> None:
    compose = project(tmp_path, cluster, token="two")
    plan = composer(cluster, "--dry-run", "-f", str(compose), "stack", "deploy", STACK)
    assert (
        "create secret shop_token_" in plan.stdout and "update service shop_web (spec changed" in plan.stdout
    )
    assert "remove secret shop_token_" in plan.stdout and "superseded" in plan.stdout
    result = composer(cluster, "-f", str(compose), "stack", "deploy", "--detach=false", STACK)
    assert result.returncode == 0, result.stderr
    secrets = cluster.docker(0, "secret", "ls", "--format", "{{.Name}}").split()
    assert len([s for s in secrets if s.startswith("shop_token_")]) == 1

    def all_two() -> bool:
        label = "label=com.docker.swarm.service.name=shop_web"
        seen = [
            cluster.docker(n.index, "exec", c, "cat", "/run/secrets/token", check=False)
            for n in cluster.nodes
            for c in cluster.docker(n.index, "ps", "-q", "--filter", label).split()
        ]
        return len(seen) == 3 and set(seen) == {"two"}

    until(all_two, 60, "the new secret in every web task")


def test_scale_down_and_lost_node_is_healed(cluster: Cluster, tmp_path: Path) -> None:
    compose = project(tmp_path, cluster, replicas=2, token="two")
    result = composer(cluster, "-f", str(compose), "stack", "deploy", "--detach=false", STACK)
    assert result.returncode == 0, result.stderr
    assert len(running(cluster, "web")) == 2
    lost = next(node for node, _ in running(cluster, "web") if node != "node0")
    cluster.kill_node(int(lost[-1]))
    until(
        lambda: (
            lost
            not in cluster.docker(
                0, "node", "ls", "--filter", "role=worker", "--format", "{{.Hostname}} {{.Status}}"
            ).replace(f"{lost} Down", "")
        ),
        60,
        f"{lost} seen down",
    )
    until(
        lambda: len(running(cluster, "web")) == 2 and lost not in {n for n, _ in running(cluster, "web")},
        90,
        "web rescheduled",
    )


def test_failed_update_rolls_back(cluster: Cluster, tmp_path: Path) -> None:
    good = json.loads(cluster.docker(0, "service", "inspect", "shop_web"))[0]["Spec"]["Labels"]
    compose = project(tmp_path, cluster, replicas=2, token="two", command="exit 3")
    result = composer(
        cluster, "-f", str(compose), "stack", "deploy", "--detach=false", "--timeout", "120", STACK
    )
    assert result.returncode != 0
    assert "did not converge" in result.stderr and "rollback" in result.stderr
    spec = json.loads(cluster.docker(0, "service", "inspect", "shop_web"))[0]["Spec"]
    assert spec["Labels"] == good  # the previous spec is back
    until(lambda: len(running(cluster, "web")) == 2, 60, "the old version serving")


def test_rolling_update_start_first_keeps_answering(cluster: Cluster, tmp_path: Path) -> None:
    """While a start-first update replaces both replicas, a client asking the service by name all along
    gets every answer (bounded: at most 300 s of requests, one at a time)."""
    serve = "echo serving v2 && mkdir -p /www && echo v2 > /www/index.html && exec httpd -f -p 80 -h /www"
    compose = project(tmp_path, cluster, replicas=2, token="two", command=serve)
    ids = cluster.docker(
        0, "ps", "-q", "--filter", f"label=com.docker.swarm.service.name={STACK}_client"
    ).split()
    # (busybox-static 1.35: wget -T crashes, so `timeout` bounds each request.) Each request asks the
    # embedded DNS with nslookup, as a client would, and takes the next address of the answer in turn.
    # The count of answers so far is kept in /tmp/ok: the test waits for answers before and after the
    # update (not for seconds, which a loaded machine fills with fewer requests).
    loop = (
        "ok=0; bad=0; i=0; end=$(($(date +%s)+300)); rm -f /tmp/ok /tmp/stop; "
        "while [ $(date +%s) -lt $end ] && [ ! -f /tmp/stop ]; do "
        "set -- $(nslookup web 2>/dev/null | awk '/^Address: /{print $2}'); "
        "if [ $# -gt 0 ]; then k=$((i % $# + 1)); eval a=\\${$k}; else a=none; fi; i=$((i+1)); "
        "if timeout 10 wget -q -O /dev/null http://$a/; then ok=$((ok+1)); else bad=$((bad+1)); fi; "
        "echo $ok > /tmp/ok; done; "
        "echo $ok $bad"
    )
    hammer = subprocess.Popen(
        [DOCKER, "exec", ids[0], "sh", "-c", loop], env=cluster.manager_env, stdout=subprocess.PIPE, text=True
    )

    def answered() -> int:
        text = cluster.docker(0, "exec", ids[0], "cat", "/tmp/ok", check=False).strip()
        return int(text) if text.isdigit() else 0

    try:
        until(lambda: answered() >= 10, 120, "the client's first answers")
        result = composer(cluster, "-f", str(compose), "stack", "deploy", "--detach=false", STACK)
        assert result.returncode == 0, result.stderr
        after = answered()
        until(lambda: answered() >= after + 10, 120, "answers after the update")
    finally:
        cluster.docker(0, "exec", ids[0], "touch", "/tmp/stop", check=False)
        out, _ = hammer.communicate(timeout=120)
    ok, bad = (int(x) for x in out.split())
    assert ok > 20 and bad == 0, (ok, bad)
    answers = client_exec(
        cluster,
        "sh",
        "-c",
        "for a in $(nslookup web | awk '/^Address: /{print $2}'); do wget -qO- http://$a/; done",
    )
    assert answers.split() == ["v2", "v2"]


def test_unhealthy_task_is_replaced(cluster: Cluster) -> None:
    """Self-healing: a task whose healthcheck fails is killed and replaced by Swarm."""
    node, task = running(cluster, "web")[0]
    index = int(node.removeprefix("node"))  # the harness names node i "node<i>"
    label = f"label=com.docker.swarm.task.id={_full_task_id(cluster, task)}"
    container = cluster.docker(index, "ps", "-q", "--filter", label).split()[0]
    cluster.docker(index, "exec", container, "rm", "/www/index.html")  # the healthcheck's wget now gets a 404
    until(lambda: task not in {t for _, t in running(cluster, "web")}, 60, "the unhealthy task replaced")
    until(lambda: len(running(cluster, "web")) == 2, 60, "two healthy replicas again")
    tasks = cluster.docker(0, "service", "ps", "--no-trunc", f"{STACK}_web", "--format", "{{.ID}} {{.Error}}")
    assert any(line.startswith(task) and "unhealthy" in line for line in tasks.splitlines()), tasks


def _full_task_id(cluster: Cluster, short: str) -> str:
    return cluster.docker(0, "inspect", "--format", "{{.ID}}", short).strip()


def test_stack_logs_prefix_each_service(cluster: Cluster) -> None:
    result = composer(cluster, "stack", "logs", "--tail", "5", STACK)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert all(line.startswith(("shop_web  | ", "shop_client  | ")) for line in lines), lines
    assert "shop_web  | serving v2" in lines


def test_global_service_with_host_mode_ports_answers_on_every_node(cluster: Cluster, tmp_path: Path) -> None:
    """`mode: global` runs one task per live node, and a `mode: host` port is published on each node's own
    address (what works without IPVS); the stack goes with `stack rm`."""
    image = f"{cluster.registry}/busybox:latest"
    serve = "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 80 -h /www"
    (tmp_path / "compose.yaml").write_text(
        f"""
services:
  edge:
    image: {image}
    command: ["sh", "-c", {json.dumps(serve)}]
    ports: [{{target: 80, published: 8088, mode: host}}]
    deploy: {{mode: global, endpoint_mode: dnsrr}}
"""
    )
    result = composer(
        cluster, "-f", str(tmp_path / "compose.yaml"), "stack", "deploy", "--detach=false", "edge"
    )
    assert result.returncode == 0, result.stderr
    ready = cluster.docker(
        0, "node", "ls", "--filter", "role=worker", "--format", "{{.Hostname}} {{.Status}}"
    )
    live = [cluster.nodes[0], *(n for n in cluster.nodes[1:] if f"node{n.index} Ready" in ready)]

    def answers() -> set[str]:
        seen = set()
        for node in live:
            url = f"http://{node.address}:8088/"
            with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=3) as reply:
                seen.add(reply.read().decode().strip())
        return seen

    until(lambda: len(answers()) == len(live), 60, "every live node answering on its own port")
    assert composer(cluster, "stack", "rm", "edge").returncode == 0


def test_rm_leaves_nothing(cluster: Cluster) -> None:
    result = composer(cluster, "stack", "rm", STACK)
    assert result.returncode == 0, result.stderr
    assert "Removing service shop_web" in result.stdout
    label = f"label=com.docker.stack.namespace={STACK}"
    for kind in ("service", "secret", "network"):  # a removed overlay network goes once its endpoints have
        until(
            lambda k=kind: cluster.docker(0, k, "ls", "-q", "--filter", label).split() == [],
            60,
            f"{kind}s gone",
        )
    for node in (0, 1):  # node 2 or 1 may be the one killed above; check the live ones
        until(
            lambda n=node: cluster.docker(n, "ps", "-aq", "--filter", label, check=False).split() == [],
            60,
            "containers gone",
        )
    again = composer(cluster, "stack", "rm", STACK)
    assert again.returncode == 1 and "nothing found in stack: shop" in again.stderr
