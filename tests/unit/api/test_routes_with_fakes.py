"""Route groups against small fakes of their Protocols (engine.api.backends): the handlers decode, call
the backend, publish dockerd's event and encode; here the real app (routes, version and error middleware,
HTTP server on a unix socket) runs with no store, kernel or root behind it."""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from engine.api import web
from engine.api.app import make_app
from engine.api.backends import Backends, Build, Emit, Events, InUse, Networks, System, Volumes
from engine.errors import Conflict, NotFound
from engine.events import Event, EventFilter
from engine.network.model import Network
from engine.system import DiskUsage, VolumeUsage
from engine.volumes.store import Volume

Reply = tuple[int, Any]


class FakeEvents:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str, dict[str, str]]] = []

    def publish(
        self, type_: str, action: str, actor_id: str, attributes: Mapping[str, str] | None = None
    ) -> Event:
        self.seen.append((type_, action, actor_id, dict(attributes or {})))
        return Event(type_, action, actor_id, dict(attributes or {}), 0)

    listeners = 0

    async def stream(
        self, since_ns: int | None, until_ns: int | None, flt: EventFilter
    ) -> AsyncIterator[Event]:
        for _ in ():
            yield Event("", "", "", {}, 0)


class FakeVolumes:
    def __init__(self) -> None:
        self.made: dict[str, Volume] = {}
        self.users: dict[str, list[str]] = {}

    def create(
        self,
        name: str | None = None,
        *,
        driver: str = "local",
        labels: dict[str, str] | None = None,
        driver_opts: dict[str, str] | None = None,
    ) -> Volume:
        name = name or "anon"
        if name not in self.made:
            self.made[name] = Volume(
                name, driver, Path("/v") / name, dict(labels or {}), dict(driver_opts or {})
            )
        return self.made[name]

    def get(self, name: str) -> Volume:
        if name not in self.made:
            raise NotFound(f"get {name}: no such volume")
        return self.made[name]

    def list(
        self, filters: Mapping[str, Sequence[str]] | None = None, in_use: InUse | None = None
    ) -> list[Volume]:
        return list(self.made.values())

    def remove(self, name: str, *, force: bool = False, in_use: InUse = lambda _n: []) -> None:
        self.get(name)
        if in_use(name):
            raise Conflict(f"remove {name}: volume is in use - {in_use(name)}")
        del self.made[name]

    def prune(
        self, filters: Mapping[str, Sequence[str]] | None = None, in_use: InUse = lambda _n: []
    ) -> dict[str, Any]:
        gone = [n for n in self.made if not in_use(n)]
        for n in gone:
            del self.made[n]
        return {"VolumesDeleted": gone, "SpaceReclaimed": 7}


class FakeNetworks:
    def __init__(self) -> None:
        self.nets: dict[str, Network] = {}

    def get(self, ref: str) -> Network:
        for n in self.nets.values():
            if ref in (n.id, n.name):
                return n
        raise NotFound(f"network {ref} not found")

    def create(self, body: dict[str, Any]) -> Network:
        n = Network(
            id=f"{len(self.nets) + 1:064x}",
            name=body["Name"],
            driver=body.get("Driver") or "bridge",
            created="2024-01-01T00:00:00Z",
        )
        self.nets[n.id] = n
        return n

    def remove(self, ref: str) -> None:
        del self.nets[self.get(ref).id]

    def find(self, filters: dict[str, list[str]]) -> list[Network]:
        return list(self.nets.values())

    def prune(self, filters: dict[str, list[str]]) -> list[str]:
        return []

    def inspect(self, n: Network) -> dict[str, Any]:
        return {"Id": n.id, "Name": n.name, "Driver": n.driver}

    def connect(
        self, ref: str, cid: str, name: str, running: bool, host_config: dict[str, Any], body: dict[str, Any]
    ) -> None:
        raise AssertionError("not used here")

    def disconnect(self, ref: str, cid: str, name: str, force: bool) -> None:
        raise AssertionError("not used here")

    def settings(self, cid: str, config: dict[str, Any], host_config: dict[str, Any]) -> dict[str, Any]:
        return {}

    def ps_ports(self, cid: str, config: dict[str, Any]) -> list[dict[str, Any]]:
        return []


class FakeBuilder:
    def __init__(self) -> None:
        self.pruned = 0

    async def build(self, context_dir: Path, opts: Any, emit: Emit) -> str:
        raise AssertionError("not used here")

    def prune(self) -> None:
        self.pruned += 1


class FakeSystem:
    def __init__(self) -> None:
        self.asked: list[frozenset[str]] = []

    def disk_usage(self, types: frozenset[str]) -> DiskUsage:
        self.asked.append(types)
        volume = Volume("data", "local", Path("/v/data"), {"a": "b"}, {})
        return DiskUsage(volumes=[VolumeUsage(volume, 42, 2)] if "volume" in types else None,
                         build_cache=[] if "build-cache" in types else None)


# mypy holds the fakes to the Protocols the route groups are typed with
_FAKES: tuple[Events, Volumes, Networks, Build, System] = (
    FakeEvents(), FakeVolumes(), FakeNetworks(), FakeBuilder(), FakeSystem()
)


def _backends(**parts: Any) -> Backends:
    defaults: dict[str, Any] = {
        "config": SimpleNamespace(data_root=Path("/nonexistent")),
        "events": FakeEvents(),
        "containers": SimpleNamespace(volume_users=lambda name: parts.get("volume_users", {}).get(name, [])),
        "execs": None,
        "images": None,
        "volumes": FakeVolumes(),
        "networks": FakeNetworks(),
        "system": FakeSystem(),
        "registry": lambda: None,
        "builder": lambda: parts.get("build"),
        "engine_id": "TEST",
        "started_at": 0.0,
    }
    defaults.update({k: v for k, v in parts.items() if k in defaults})
    return Backends(**defaults)


async def _request(path: str, method: str, target: str, body: Any = None) -> Reply:
    data = b"" if body is None else json.dumps(body).encode()
    r, w = await asyncio.open_unix_connection(path)
    w.write(
        f"{method} {target} HTTP/1.1\r\nHost: engine\r\nContent-Length: {len(data)}\r\n"
        "Content-Type: application/json\r\nConnection: close\r\n\r\n".encode()
        + data
    )
    raw = await r.read()
    w.close()
    head, _, payload = raw.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    return status, json.loads(payload) if payload.strip() else None


def _serve(b: Backends, scenario: Callable[[Callable[..., Awaitable[Reply]]], Awaitable[None]]) -> None:
    async def main() -> None:
        server = web.Server(make_app(b))
        with tempfile.TemporaryDirectory() as tmp:
            sock = os.path.join(tmp, "engine.sock")
            await server.listen_unix(sock, 0o600)
            try:
                await asyncio.wait_for(scenario(lambda *a: _request(sock, *a)), 20)
            finally:
                await server.close()

    asyncio.run(main())


def test_volume_routes_decode_call_publish_encode() -> None:
    b = _backends(volume_users={"busy": ["c" * 64]})
    events: FakeEvents = b.events  # type: ignore[assignment]

    async def scenario(call: Callable[..., Awaitable[Reply]]) -> None:
        status, made = await call("POST", "/v1.43/volumes/create", {"Name": "data", "Labels": {"a": "b"}})
        assert status == 201 and made["Name"] == "data" and made["Labels"] == {"a": "b"}
        assert made["Mountpoint"] == "/v/data" and made["Scope"] == "local"
        assert (await call("POST", "/volumes/create", {"Name": "data"}))[0] == 201  # exists: no second event
        assert (await call("POST", "/volumes/create", {"Name": "busy"}))[0] == 201
        assert await call("POST", "/volumes/create", {"Labels": {"a": 1}}) == (
            400,
            {"message": "invalid Labels: expected an object of strings"},
        )
        assert await call("GET", '/volumes?filters={"color":["red"]}') == (
            400,
            {"message": "invalid filter 'color'"},
        )
        assert [v["Name"] for v in (await call("GET", "/volumes"))[1]["Volumes"]] == ["data", "busy"]
        assert await call("DELETE", "/volumes/busy") == (
            409,
            {"message": f"remove busy: volume is in use - {['c' * 64]}"},
        )
        assert await call("DELETE", "/volumes/nope") == (404, {"message": "get nope: no such volume"})
        assert (await call("DELETE", "/volumes/nope?force=1"))[0] == 204  # dockerd: forced, missing is fine
        assert await call("POST", "/volumes/prune") == (
            200,
            {"VolumesDeleted": ["data"], "SpaceReclaimed": 7},
        )

    _serve(b, scenario)
    assert events.seen == [
        ("volume", "create", "data", {"driver": "local"}),
        ("volume", "create", "busy", {"driver": "local"}),
        ("volume", "destroy", "data", {"driver": "local"}),
        ("volume", "prune", "", {"reclaimed": "7"}),
    ]


def test_network_routes_against_a_fake_service() -> None:
    b = _backends()
    events: FakeEvents = b.events  # type: ignore[assignment]

    async def scenario(call: Callable[..., Awaitable[Reply]]) -> None:
        status, made = await call("POST", "/networks/create", {"Name": "front"})
        assert status == 201 and set(made) == {"Id", "Warning"}
        assert await call("GET", "/networks/front") == (
            200,
            {"Id": made["Id"], "Name": "front", "Driver": "bridge"},
        )
        assert (await call("DELETE", "/networks/front"))[0] == 204
        assert await call("GET", "/networks/front") == (404, {"message": "network front not found"})
        assert await call("POST", "/networks/create", []) == (
            400,
            {"message": "invalid JSON: expected an object"},
        )

    _serve(b, scenario)
    nid = "0" * 63 + "1"
    assert events.seen == [
        ("network", "create", nid, {"name": "front", "type": "bridge"}),
        ("network", "destroy", nid, {"name": "front", "type": "bridge"}),
    ]


def test_build_prune_asks_the_builder() -> None:
    builder = FakeBuilder()
    b = _backends(build=builder)

    async def scenario(call: Callable[..., Awaitable[Reply]]) -> None:
        assert await call("POST", "/v1.43/build/prune") == (200, {"CachesDeleted": None, "SpaceReclaimed": 0})
        assert await call("POST", "/v1.99/build/prune") == (
            400,
            {"message": "client version 1.99 is too new. Maximum supported API version is 1.47"},
        )

    _serve(b, scenario)
    assert builder.pruned == 1


class FakeLifecycle:
    """The lifecycle calls of the Containers protocol, recorded; a container named `gone` is missing."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def _known(self, ref: str) -> None:
        if ref == "gone":
            raise NotFound(f"No such container: {ref}")

    async def stop(self, ref: str, *, signal: str | None = None, timeout: int | None = None) -> None:
        self._known(ref)
        self.calls.append(("stop", ref, signal, timeout))

    async def kill(self, ref: str, signal: str | None) -> None:
        self._known(ref)
        self.calls.append(("kill", ref, signal))

    async def rename(self, ref: str, new_name: str) -> None:
        self.calls.append(("rename", ref, new_name))


def test_container_lifecycle_routes_decode_the_query() -> None:
    fake = FakeLifecycle()
    b = _backends(containers=fake)

    async def scenario(call: Callable[..., Awaitable[Reply]]) -> None:
        assert await call("POST", "/v1.43/containers/web/stop?t=3&signal=SIGINT") == (204, None)
        assert await call("POST", "/containers/web/stop?timeout=7") == (204, None)
        assert await call("POST", "/containers/web/stop?t=soon") == (
            400,
            {"message": "invalid value for t: 'soon'"},
        )
        assert await call("POST", "/containers/web/kill?signal=HUP") == (204, None)
        assert await call("POST", "/containers/gone/kill") == (404, {"message": "No such container: gone"})
        assert await call("POST", "/containers/web/rename?name=front") == (204, None)

    _serve(b, scenario)
    assert fake.calls == [
        ("stop", "web", "SIGINT", 3),
        ("stop", "web", None, 7),
        ("kill", "web", "HUP"),
        ("rename", "web", "front"),
    ]


def test_system_df_decodes_the_types_and_encodes_the_domain_answer() -> None:
    b = _backends()
    system: FakeSystem = b.system  # type: ignore[assignment]

    async def scenario(call: Callable[..., Awaitable[Reply]]) -> None:
        status, body = await call("GET", "/system/df?type=volume&type=build-cache")
        assert status == 200 and body["BuildCache"] == [] and set(body) == {"Volumes", "BuildCache"}
        [volume] = body["Volumes"]
        assert volume["Name"] == "data" and volume["Labels"] == {"a": "b"}
        assert volume["UsageData"] == {"Size": 42, "RefCount": 2}
        unknown = await call("GET", "/system/df?type=widget")
        assert unknown == (400, {"message": "unknown object type: widget"})

    _serve(b, scenario)
    assert system.asked == [frozenset({"volume", "build-cache"})]  # the bad type never reached the domain
