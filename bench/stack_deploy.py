"""Deploy and rolling-update time of a 10-service stack on a real 3-node Swarm: `composer stack deploy`
against `docker stack deploy` (docker CLI 28), same cluster, same file, interleaved, each waiting for
convergence (`--detach=false`).

    python3 bench/stack_deploy.py [-n RUNS]

The cluster is tests/support/swarm.py's (dockerd nodes in network namespaces, a local registry): root only.
Prints medians and the ratio composer/docker for: deploy of 10 services (2 replicas each) and a rolling
update of all of them (an environment change, `order: start-first`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.dockerd import DOCKER  # noqa: E402
from tests.support.swarm import Cluster, swarm_cluster  # noqa: E402

SERVICES = 10


def compose_file(path: Path, image: str, version: int) -> None:
    services = "".join(
        f"""  s{i}:
    image: {image}
    command: ["sleep", "3600"]
    environment: {{VERSION: "{version}"}}
    deploy:
      replicas: 2
      endpoint_mode: dnsrr
      update_config: {{parallelism: 2, order: start-first}}
"""
        for i in range(SERVICES)
    )
    path.write_text("services:\n" + services)


def timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.monotonic()
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600, cwd=ROOT)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {result.stderr.strip()}")
    return time.monotonic() - start


def deploy(tool: str, cluster: Cluster, compose: Path, stack: str) -> float:
    env = cluster.manager_env
    if tool == "composer":
        argv = [
            sys.executable,
            "-m",
            "composer.cli.main",
            "-f",
            str(compose),
            "stack",
            "deploy",
            "--detach=false",
            stack,
        ]
    else:
        argv = [DOCKER, "stack", "deploy", "--detach=false", "-c", str(compose), stack]
    return timed(argv, env)


def remove(cluster: Cluster, stack: str) -> None:
    cluster.docker(0, "stack", "rm", stack, check=False)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and cluster.docker(
        0, "ps", "-q", "--filter", f"label=com.docker.stack.namespace={stack}"
    ):
        time.sleep(0.5)
    time.sleep(2)  # overlay networks go a moment after their endpoints


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", "--runs", type=int, default=3)
    args = parser.parse_args()
    results: dict[tuple[str, str], list[float]] = {}
    with swarm_cluster(3) as cluster, __import__("tempfile").TemporaryDirectory() as tmp:
        image = cluster.push_busybox()
        v1, v2 = Path(tmp, "v1.yaml"), Path(tmp, "v2.yaml")
        compose_file(v1, image, 1)
        compose_file(v2, image, 2)
        for run in range(args.runs):
            for tool in ("composer", "docker") if run % 2 == 0 else ("docker", "composer"):
                stack = f"b{tool[0]}{run}"
                results.setdefault((tool, "deploy"), []).append(deploy(tool, cluster, v1, stack))
                results.setdefault((tool, "update"), []).append(deploy(tool, cluster, v2, stack))
                remove(cluster, stack)
    print(f"{SERVICES} services x 2 replicas on 3 nodes, {args.runs} runs, load {os.getloadavg()[0]:.1f}")
    print("| step | composer median s | docker stack median s | ratio |")
    print("|---|---|---|---|")
    for step in ("deploy", "update"):
        ours = statistics.median(results[("composer", step)])
        theirs = statistics.median(results[("docker", step)])
        print(f"| {step} | {ours:.2f} | {theirs:.2f} | {ours / theirs:.2f} |")


if __name__ == "__main__":
    main()
