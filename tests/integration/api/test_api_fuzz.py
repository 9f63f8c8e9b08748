"""A few thousand generated requests to every route of the engine, in a bounded time: wrongly typed and
malformed bodies, odd path parameters and query values. Afterwards: no 500, no traceback in the engine's
log, `/_ping` still answers, and a canary directory outside the engine's roots (whose path the requests
name) is untouched.

Routes that would reach the network (pull, push, login, distribution) only get names that point at a
closed port on 127.0.0.1; streaming routes are asked not to follow, and may time out without failing.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import random
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from engine.api.app import collect_routes
from tests.support.engine import EngineProcess, UnixHTTPConnection

pytestmark = pytest.mark.root

SEED = int(os.environ.get("FUZZ_SEED", "13"))  # another seed explores other requests
REQUESTS = 3000
SWARM_ROUTES = ("/swarm", "/nodes", "/services", "/tasks", "/secrets", "/configs")
MIN_REQUESTS = 2000  # always sent, however long a loaded machine takes for them
BUDGET = 40.0  # seconds: past it (and MIN_REQUESTS), the rest of REQUESTS is left out
STREAMING = ("/events", "/logs", "/stats", "/attach", "/wait", "/exec/{id}/start", "/containers/{id}/top")
CLOSED_REGISTRY = "127.0.0.1:1"

VALID_CREATE: dict[str, Any] = {
    "Image": "busybox",
    "Cmd": ["true"],
    "Env": ["A=1"],
    "Labels": {"a": "b"},
    "ExposedPorts": {"80/tcp": {}},
    "HostConfig": {
        "NetworkMode": "none",
        "Memory": 32 << 20,
        "CapAdd": ["NET_ADMIN"],
        "PortBindings": {"80/tcp": [{"HostPort": "0"}]},
        "RestartPolicy": {"Name": "no"},
        "Ulimits": [{"Name": "nofile", "Soft": 100, "Hard": 100}],
        "Sysctls": {"net.core.somaxconn": "10"},
        "Tmpfs": {"/run": ""},
        "Mounts": [{"Type": "tmpfs", "Target": "/m"}],
        "LogConfig": {"Type": "json-file", "Config": {}},
    },
    "NetworkingConfig": {"EndpointsConfig": {}},
}
FIELD_NAMES = [
    "Name", "Driver", "Labels", "Options", "Cmd", "Env", "Image", "HostConfig", "Memory", "Detach", "Tty",
    "AttachStdout", "User", "WorkingDir", "Container", "EndpointConfig", "Force", "DriverOpts", "Internal",
    "EnableIPv6", "CheckDuplicate", "Privileged", "ExposedPorts", "serveraddress", "username", "password",
    "h", "w", "Condition", "CpuShares", "RestartPolicy", "PidsLimit", "Attachable",
]  # fmt: skip


def _scalar(rng: random.Random, canary: Path) -> Any:
    return rng.choice(
        [
            None,
            True,
            0,
            -1,
            2**63,
            -(2**70),
            1.5,
            1e300,
            "",
            "x",
            "../../../../" + str(canary).lstrip("/"),
            str(canary),
            "%s",
            "\u0000",
            "é" * 3,
            "a" * 5000,
            "32m",
            "99999/tcp",
            "None/tcp",
            "/tcp",
            "SIGNOPE",
            "host",
            "container:nope",
            "ALL",
        ]
    )


def _value(rng: random.Random, canary: Path, depth: int = 0) -> Any:
    roll = rng.random()
    if depth > 3 or roll < 0.55:
        return _scalar(rng, canary)
    if roll < 0.75:
        return [_value(rng, canary, depth + 1) for _ in range(rng.randint(0, 3))]
    return {
        rng.choice(FIELD_NAMES + ["80/tcp", "nofile"]): _value(rng, canary, depth + 1)
        for _ in range(rng.randint(0, 4))
    }


def _mutate(rng: random.Random, body: Any, canary: Path) -> Any:
    """A deep copy of `body` with one value somewhere replaced by a generated one."""
    body = json.loads(json.dumps(body))
    node = body
    while isinstance(node, dict) and node:
        key = rng.choice(sorted(node))
        if isinstance(node[key], dict) and node[key] and rng.random() < 0.6:
            node = node[key]
            continue
        node[key] = _value(rng, canary)
        break
    return body


def _body(rng: random.Random, method: str, path: str, canary: Path) -> bytes | None:
    if method in ("GET", "HEAD", "DELETE") and rng.random() < 0.8:
        return None
    roll = rng.random()
    if roll < 0.08:
        return rng.choice([b"{", b"[" * 20000, b'{"a":NaN}', b"\xff\xfe", b"null", b"[]", b'"x"', b"1e400"])
    if roll < 0.12:
        return os.urandom(rng.randint(1, 600))  # garbage for the tar routes (load, build, archive)
    if path == "/containers/create":
        return json.dumps(_mutate(rng, VALID_CREATE, canary)).encode()
    if path == "/auth":
        return json.dumps({"serveraddress": CLOSED_REGISTRY, "username": _scalar(rng, canary)}).encode()
    if path == "/networks/create":
        return json.dumps(
            {"Name": rng.choice([None, 5, [], {}, ""]), "Driver": _scalar(rng, canary)}
        ).encode()
    value = _value(rng, canary)
    return json.dumps(
        value if rng.random() < 0.3 else {"Name": "fz", **(value if isinstance(value, dict) else {})}
    ).encode()


def _query(rng: random.Random, path: str, canary: Path) -> str:
    params: dict[str, str] = {}
    for _ in range(rng.randint(0, 4)):
        key = rng.choice(
            ["all", "size", "filters", "t", "signal", "force", "v", "link", "path", "name", "repo", "tag",
             "timeout", "limit", "noprune", "tail", "since", "until", "condition", "h", "w", "fromSrc",
             "stdout", "stderr", "timestamps", "ps_args", "dockerfile", "buildargs", "labels", "platform",
             "noOverwriteDirNonDir", "copyUIDGID", "comment", "changes", "container", "quiet"]
        )  # fmt: skip
        params[key] = rng.choice(
            [
                "1",
                "0",
                "-1",
                "x",
                "",
                '{"status":["running"]}',
                '{"name":["(["]}',
                '{"label":{"a":true}}',
                '{"nope":["1"]}',
                "{",
                "[1]",
                "/",
                "/tmp",
                "/../../../" + str(canary).lstrip("/"),
                "SIGKILL",
                "SIGNOPE",
                "999999999999999999999",
                "busybox",
                "-",
                "a" * 300,
            ]
        )
    # nothing follows or streams forever, nothing reaches a real registry
    params.update({"follow": "0", "stream": "0", "one-shot": "1"})
    if path.endswith(("/stop", "/restart")):  # a stop waits its timeout (-1: forever) before the kill
        params.update({"t": "0", "timeout": "0"})
    if path == "/events":
        params["until"] = "1"
    if path == "/images/create":
        params.pop("fromImage", None)
        params["fromSrc"] = "-"
    if path in ("/build",):
        params.pop("remote", None)
    return "&".join(f"{quote(k)}={quote(v)}" for k, v in params.items())


def _fill(rng: random.Random, route: str, ids: list[str], canary: Path) -> str:
    junk = ["nope", "..", "%2e%2e%2f%2e%2e", "a" * 300, quote(str(canary), safe=""), "%00", "x%20y"]
    if "/distribution/" in route or "/push" in route:
        names = [f"{CLOSED_REGISTRY}/nope", f"{CLOSED_REGISTRY}/a/b:c"]
    elif route.startswith("/images/"):  # busybox too: a test target re-imports it when deleted
        names = ["busybox", "busybox:latest", "nope:1", *junk]
    else:
        names = ids * 3 + junk  # mostly real containers, so the handlers get past the lookup
    out = route
    for param in ("{id}", "{name}", "{name:.+}"):
        if param in out:
            out = out.replace(param, rng.choice(names))
    return out


def _tree(root: Path) -> str:
    digest = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        digest.update(str(p).encode())
        if p.is_file():
            digest.update(p.read_bytes())
    return digest.hexdigest()


def _send(
    engine: EngineProcess, method: str, target: str, body: bytes | None, timeout: float
) -> tuple[int, bytes] | None:
    """(status, first bytes of the body), or None when the answer did not end in time."""
    conn = UnixHTTPConnection(str(engine.socket_path), timeout=timeout)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        conn.request(method, target, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read(2000)
    except TimeoutError:
        return None
    except (ConnectionError, http.client.HTTPException):
        return -1, b"connection dropped"
    finally:
        conn.close()


def _ensure_targets(engine: EngineProcess) -> list[str]:
    """A running and a created container (by name and id) for the routes' {id}, made again when gone."""
    if engine.request("GET", "/images/busybox/json").status != 200:  # an image prune or delete took it
        engine.import_busybox()
    if engine.request("GET", "/containers/fz-run/json").status != 200:
        body = {"Image": "busybox", "Cmd": ["sleep", "300"], "HostConfig": {"NetworkMode": "none"}}
        cid = engine.json("POST", "/containers/create?name=fz-run", body)["Id"]
        engine.request("POST", f"/containers/{cid}/start")
    if engine.request("GET", "/containers/fz-created/json").status != 200:
        engine.json("POST", "/containers/create?name=fz-created", {"Image": "busybox", "Cmd": ["true"]})
    run_id = engine.json("GET", "/containers/fz-run/json")["Id"]
    created_id = engine.json("GET", "/containers/fz-created/json")["Id"]
    return ["fz-run", run_id, run_id[:12], "fz-created", created_id]


def test_fuzz_every_route(engine: EngineProcess, tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    canary.mkdir()
    (canary / "keep").write_text("canary\n")
    before = _tree(canary)
    root_names = sorted(os.listdir("/"))
    ids = _ensure_targets(engine)
    routes = sorted({(m, p) for m, p, _ in collect_routes()})
    rng = random.Random(SEED)
    failures: list[str] = []
    hung: list[str] = []
    statuses: dict[int, int] = {}
    started = time.monotonic()
    sent = 0
    for i in range(REQUESTS):
        if sent >= MIN_REQUESTS and time.monotonic() - started > BUDGET:
            break
        if i % 200 == 199:  # requests remove, kill and prune them: keep real targets to aim at
            ids = _ensure_targets(engine)
        method, route = routes[i % len(routes)] if i < len(routes) else rng.choice(routes)
        target = _fill(rng, route, ids, canary)
        query = _query(rng, route, canary)
        body = _body(rng, method, route, canary)
        streaming = any(s in route for s in STREAMING)  # may wait for an exit or more output: cut short
        result = _send(engine, method, f"{target}?{query}", body, 0.5 if streaming else 30)
        sent += 1
        if result is None:
            if not streaming:
                hung.append(f"{method} {target}")
            continue
        status, data = result
        statuses[status] = statuses.get(status, 0) + 1
        unreachable = status == 503 and route.startswith(
            ("/distribution/", "/images/{name:.+}/push", "/auth", "/images/create")
        )
        # 503 is also dockerd's answer outside a swarm (engine.api.swarm)
        no_swarm = status == 503 and route.startswith(SWARM_ROUTES)
        if (status >= 500 and not (unreachable or no_swarm)) or status < 0:  # 503: the closed registry port
            failures.append(
                f"{method} {target}?{query[:80]} body={(body or b'')[:80]!r} -> {status} {data[:200]!r}"
            )
    elapsed = time.monotonic() - started
    print(f"fuzz: {sent} requests in {elapsed:.1f}s, statuses {sorted(statuses.items())}")
    engine.request("POST", "/networks/prune")
    assert not failures, f"{len(failures)} of {sent} requests failed:\n" + "\n".join(failures[:20])
    assert not hung, f"{len(hung)} non-streaming requests hung:\n" + "\n".join(hung[:20])
    assert engine.request("GET", "/_ping").status == 200
    assert "Traceback" not in engine.log()
    assert _tree(canary) == before and sorted(os.listdir("/")) == root_names
