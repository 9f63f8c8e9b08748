"""composer's Engine API client: every call composer makes, JSON and streams, over `composer.transport`.

Method names, arguments and return shapes follow docker-py's low-level `APIClient` (the vocabulary the
code and its readers already know), but nothing here imports docker-py: see `composer.client` for why.
Plain calls share one keep-alive connection per thread; a streaming call (logs, events, pull/push/build
progress, archives) gets a connection of its own, closed when the stream is consumed or closed; attach and
exec hand back the hijacked socket.

    client = Client(Endpoint.parse(host, environ), timeout=120)
    client.containers(all=True, filters={"label": ["com.docker.compose.project=web"]})
    for chunk in client.logs(cid, stream=True, follow=True): ...
"""

from __future__ import annotations

import _thread  # threading's lock and thread-local types: `import threading` is ~1 ms of a start
import json
from collections.abc import Iterable, Mapping

from composer._typecheck import TYPE_CHECKING
from composer.streams import Stream, json_messages, log_payloads, path_stat
from composer.transport import APIError, Connection, Endpoint, Response, raise_for

if TYPE_CHECKING:
    import socket
    from typing import Any

    JSON = dict[str, Any]


class Client:
    def __init__(
        self, endpoint: Endpoint | str, timeout: float | None = 60.0, version: str | None = None
    ) -> None:
        if isinstance(endpoint, str):
            endpoint = Endpoint("unix", endpoint)  # a socket path (what the first version took)
        self.endpoint = endpoint
        self.timeout = timeout  # seconds per request; None: no limit (streams that last as long as they last)
        version = version or endpoint.environ.get("DOCKER_API_VERSION")
        self._prefix = f"/v{version.lstrip('v')}" if version else ""
        self._local = _thread._local()  # threading.local
        self._conns: list[Connection] = []
        self._lock = _thread.allocate_lock()  # threading.Lock

    def close(self) -> None:
        with self._lock:
            for conn in self._conns:
                conn.close()
            self._conns.clear()

    # ---- plumbing ----
    def _target(self, path: str, params: Mapping[str, Any] | None) -> str:
        query = _query((k, _param(v)) for k, v in (params or {}).items() if v is not None)
        return self._prefix + path + (f"?{query}" if query else "")

    def _headers(self, extra: Mapping[str, str] | None, content_type: str | None) -> dict[str, str]:
        headers = {"Host": "docker", "User-Agent": "composer"}
        if content_type:
            headers["Content-Type"] = content_type
        headers.update(extra or {})
        return headers

    def _pooled(self, timeout: float | None) -> Connection:
        conn: Connection | None = getattr(self._local, "conn", None)
        if conn is None or not conn.reusable:
            conn = self.endpoint.connect(timeout)
            self._local.conn = conn
            with self._lock:
                self._conns = [c for c in self._conns if c.reusable]
                self._conns.append(conn)
        else:
            conn.settimeout(timeout)
        return conn

    def _timeout(self, extra: float) -> float | None:
        return None if self.timeout is None else self.timeout + extra

    def request(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        *,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        extra_timeout: float = 0,
        raw_reply: bool = False,
    ) -> Any:
        """One call on the thread's keep-alive connection; the reply's JSON (None when empty, or for 304:
        already in that state, which docker-py does not treat as an error either)."""
        content_type: str | None = "application/x-tar" if data is not None else None
        if body is not None:
            data, content_type = json.dumps(body).encode(), "application/json"
        target = self._target(path, params)
        hdrs = self._headers(headers, content_type)
        for attempt in (0, 1):
            conn = self._pooled(self._timeout(extra_timeout))
            fresh = not getattr(conn, "used", False)
            try:
                reply = conn.exchange(method, target, hdrs, data)
                data_in = reply.read()
            except (OSError, ValueError):
                conn.close()
                # a kept-alive connection the engine closed meanwhile: once more on a new one
                if attempt == 0 and not fresh and method in ("GET", "HEAD"):
                    continue
                raise
            conn.used = True  # type: ignore[attr-defined]
            if not conn.reusable:
                conn.close()
            break
        if reply.status == 304:
            return None
        if reply.status >= 400:
            raise _error(reply.status, data_in, reply.reason)
        if raw_reply:
            return data_in
        return json.loads(data_in) if data_in.strip() else None

    def _open(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        body: Any = None,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        content_type: str | None = None,
    ) -> Response:
        """A call on a connection of its own, for a reply read as it arrives."""
        if body is not None:
            data, content_type = json.dumps(body).encode(), "application/json"
        conn = self.endpoint.connect(self.timeout)
        try:
            reply = conn.exchange(
                method, self._target(path, params), self._headers(headers, content_type), data
            )
            if reply.status >= 400:
                raise_for(reply)
        except BaseException:
            conn.close()
            raise
        return reply

    def _json_stream(self, reply: Response) -> Stream:
        return Stream(reply, json_messages(reply.chunks()))

    def _hijack(self, path: str, params: Mapping[str, Any] | None, body: Any = None) -> socket.socket:
        conn = self.endpoint.connect(self.timeout, hijack=True)
        data = json.dumps(body).encode() if body is not None else None
        try:
            return conn.hijack(
                "POST",
                self._target(path, params),
                self._headers(None, "application/json" if data else None),
                data,
            )
        except BaseException:
            conn.close()
            raise

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.request("GET", path, params)

    def ping(self) -> bool:
        try:
            self.request("GET", "/_ping", raw_reply=True)
        except APIError:
            return False
        return True

    def version(self) -> JSON:
        return dict(self.get("/version"))

    # ---- reads ----
    def containers(self, all: bool = False, filters: Mapping[str, Any] | None = None) -> list[Any]:
        return list(self.get("/containers/json", {"all": 1 if all else 0, "filters": _filters(filters)}))

    def networks(self, filters: Mapping[str, Any] | None = None) -> list[Any]:
        return list(self.get("/networks", {"filters": _filters(filters)}))

    def volumes(self, filters: Mapping[str, Any] | None = None) -> JSON:
        return dict(self.get("/volumes", {"filters": _filters(filters)}) or {})

    def inspect_image(self, ref: str) -> JSON:
        return dict(self.get(f"/images/{_q(ref, '/:@')}/json"))

    def inspect_container(self, ref: str) -> JSON:
        return dict(self.get(f"/containers/{_q(ref)}/json"))

    def inspect_network(self, ref: str) -> JSON:
        return dict(self.get(f"/networks/{_q(ref)}"))

    def top(self, container: str, ps_args: str | None = None) -> JSON:
        return dict(self.get(f"/containers/{_q(container)}/top", {"ps_args": ps_args}))

    def stats(self, container: str, stream: bool = False) -> JSON:
        if stream:
            raise ValueError("stats(stream=True) is not used by composer")
        return dict(self.get(f"/containers/{_q(container)}/stats", {"stream": "0"}))

    # ---- networks, volumes ----
    def create_network(
        self,
        name: str,
        driver: str | None = None,
        options: Mapping[str, str] | None = None,
        ipam: Mapping[str, Any] | None = None,
        internal: bool = False,
        labels: Mapping[str, str] | None = None,
        enable_ipv6: bool = False,
        attachable: bool | None = None,
    ) -> JSON:
        body: JSON = {
            "Name": name,
            "Driver": driver,
            "Options": dict(options or {}),
            "Internal": internal,
            "Labels": dict(labels or {}),
            "EnableIPv6": enable_ipv6,
            "CheckDuplicate": True,
        }
        if ipam is not None:
            body["IPAM"] = dict(ipam)
        if attachable is not None:
            body["Attachable"] = attachable
        return dict(self.request("POST", "/networks/create", body=body) or {})

    def remove_network(self, net_id: str) -> None:
        self.request("DELETE", f"/networks/{_q(net_id)}")

    def create_volume(
        self,
        name: str,
        driver: str | None = None,
        driver_opts: Mapping[str, str] | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> JSON:
        body = {
            "Name": name,
            "Driver": driver or "local",
            "DriverOpts": dict(driver_opts or {}),
            "Labels": dict(labels or {}),
        }
        return dict(self.request("POST", "/volumes/create", body=body) or {})

    def remove_volume(self, name: str, force: bool = False) -> None:
        self.request("DELETE", f"/volumes/{_q(name)}", {"force": "1" if force else None})

    # ---- containers ----
    def create_container_from_config(self, config: Mapping[str, Any], name: str | None = None) -> JSON:
        return dict(self.request("POST", "/containers/create", {"name": name}, body=dict(config)) or {})

    def put_archive_owned(self, container: str, path: str, data: bytes, copy_uid_gid: bool) -> None:
        """PUT /containers/{id}/archive; copy_uid_gid keeps the archive's owners (`docker cp -a`)."""
        params = {"path": path, "copyUIDGID": "true" if copy_uid_gid else None}
        self.request("PUT", f"/containers/{_q(container)}/archive", params, data=data, raw_reply=True)

    def start(self, container: str) -> None:
        self.request("POST", f"/containers/{_q(container)}/start")

    def stop(self, container: str, timeout: int | None = None) -> None:
        self.request("POST", f"/containers/{_q(container)}/stop", {"t": timeout}, extra_timeout=timeout or 0)

    def restart(self, container: str, timeout: int | None = None) -> None:
        self.request(
            "POST", f"/containers/{_q(container)}/restart", {"t": timeout}, extra_timeout=timeout or 10
        )

    def rename(self, container: str, name: str) -> None:
        self.request("POST", f"/containers/{_q(container)}/rename", {"name": name})

    def kill(self, container: str, signal: str | int | None = None) -> None:
        self.request("POST", f"/containers/{_q(container)}/kill", {"signal": signal})

    def pause(self, container: str) -> None:
        self.request("POST", f"/containers/{_q(container)}/pause")

    def unpause(self, container: str) -> None:
        self.request("POST", f"/containers/{_q(container)}/unpause")

    def wait(self, container: str, condition: str | None = None) -> JSON:
        """Until the container stops (no request timeout: it lasts as long as the container runs)."""
        saved, self.timeout = self.timeout, None
        try:
            return dict(self.request("POST", f"/containers/{_q(container)}/wait", {"condition": condition}))
        finally:
            self.timeout = saved

    def remove_container(
        self, container: str, v: bool = False, link: bool = False, force: bool = False
    ) -> None:
        params = {"v": "1" if v else "0", "link": "1" if link else "0", "force": "1" if force else "0"}
        self.request("DELETE", f"/containers/{_q(container)}", params)

    def attach_socket(self, container: str, params: Mapping[str, Any] | None = None) -> socket.socket:
        """The hijacked attach stream (multiplexed unless the container has a tty)."""
        return self._hijack(
            f"/containers/{_q(container)}/attach", params or {"stdout": 1, "stderr": 1, "stream": 1}
        )

    def logs(
        self,
        container: str,
        stdout: bool = True,
        stderr: bool = True,
        stream: bool = False,
        timestamps: bool = False,
        tail: int | str = "all",
        since: float | None = None,
        follow: bool | None = None,
        until: float | None = None,
    ) -> Any:
        """The log as payload chunks (stream=True) or bytes. A container without a tty has a multiplexed
        log; it is told from a tty's raw one by the frame header (type 0-2, three zero bytes)."""
        if not isinstance(tail, int) or tail < 0:
            tail = "all"  # as docker-py: a negative or odd tail means the whole log
        params = {
            "stdout": _flag(stdout),
            "stderr": _flag(stderr),
            "timestamps": _flag(timestamps),
            "follow": _flag(bool(follow)),
            "tail": tail,
            "since": _timestamp(since),
            "until": _timestamp(until),
        }
        reply = self._open("GET", f"/containers/{_q(container)}/logs", params)
        items = log_payloads(reply)
        if stream:
            return Stream(reply, items)
        try:
            return b"".join(items)
        finally:
            reply.conn.close()

    def get_archive(self, container: str, path: str) -> tuple[Stream, JSON]:
        reply = self._open("GET", f"/containers/{_q(container)}/archive", {"path": path})
        return Stream(reply, reply.chunks()), path_stat(reply.headers)

    def archive_stat(self, container: str, path: str) -> JSON | None:
        """The X-Docker-Container-Path-Stat of `path` in the container; None when it does not exist."""
        conn = self.endpoint.connect(self.timeout)
        try:
            reply = conn.exchange(
                "HEAD",
                self._target(f"/containers/{_q(container)}/archive", {"path": path}),
                self._headers(None, None),
            )
            if reply.status == 404:
                return None
            if reply.status >= 400:
                raise APIError(reply.status, reply.reason)
            return path_stat(reply.headers)
        finally:
            conn.close()

    def put_archive(self, container: str, path: str, data: bytes) -> bool:
        self.request("PUT", f"/containers/{_q(container)}/archive", {"path": path}, data=data)
        return True

    # ---- exec ----
    def exec_create(
        self,
        container: str,
        cmd: str | list[str],
        stdout: bool = True,
        stderr: bool = True,
        stdin: bool = False,
        tty: bool = False,
        privileged: bool = False,
        user: str = "",
        environment: list[str] | Mapping[str, str] | None = None,
        workdir: str | None = None,
        detach_keys: str | None = None,
    ) -> JSON:
        if isinstance(environment, Mapping):
            environment = [f"{k}={v}" for k, v in environment.items()]
        body: JSON = {
            "AttachStdin": stdin,
            "AttachStdout": stdout,
            "AttachStderr": stderr,
            "Tty": tty,
            "Cmd": [cmd] if isinstance(cmd, str) else list(cmd),
            "Privileged": privileged,
            "User": user,
            "Env": environment,
        }
        if workdir is not None:
            body["WorkingDir"] = workdir
        if detach_keys is not None:
            body["DetachKeys"] = detach_keys
        return dict(self.request("POST", f"/containers/{_q(container)}/exec", body=body))

    def exec_start(
        self, exec_id: str | Mapping[str, Any], detach: bool = False, tty: bool = False, socket: bool = False
    ) -> Any:
        """detach: returns at once; socket: the hijacked stream; else the whole output (stdout and stderr
        payloads in the order they came) once the command ended."""
        path = f"/exec/{_q(_id(exec_id))}/start"
        body = {"Detach": detach, "Tty": tty}
        if detach:
            return self.request("POST", path, body=body, raw_reply=True)
        if socket:
            return self._hijack(path, None, body)
        reply = self._open("POST", path, body=body)
        try:
            return b"".join(reply.chunks() if tty else (payload for _, payload in reply.frames()))
        finally:
            reply.conn.close()

    def exec_output(self, exec_id: str | Mapping[str, Any], tty: bool = False) -> Stream:
        """The exec started attached, its output as it arrives (stdout and stderr payloads interleaved);
        the stream ends when the command ended."""
        reply = self._open("POST", f"/exec/{_q(_id(exec_id))}/start", body={"Detach": False, "Tty": tty})
        return Stream(reply, reply.chunks() if tty else (payload for _, payload in reply.frames()))

    def exec_inspect(self, exec_id: str | Mapping[str, Any]) -> JSON:
        return dict(self.get(f"/exec/{_q(_id(exec_id))}/json"))

    def exec_resize(
        self, exec_id: str | Mapping[str, Any], height: int | None = None, width: int | None = None
    ) -> None:
        self.request("POST", f"/exec/{_q(_id(exec_id))}/resize", {"h": height, "w": width})

    # ---- images ----
    def pull(
        self, repository: str, tag: str | None = None, stream: bool = True, decode: bool = True
    ) -> Stream:
        """Progress messages as dicts; an `error` message is the failure (as the engine reports it)."""
        from composer.registry_auth import auth_header

        params = {"fromImage": repository, "tag": tag or "latest"}
        reply = self._open(
            "POST", "/images/create", params, headers=auth_header(repository, self.endpoint.environ)
        )
        return self._json_stream(reply)

    def push(
        self, repository: str, tag: str | None = None, stream: bool = True, decode: bool = True
    ) -> Stream:
        from composer.registry_auth import auth_header

        headers = auth_header(repository, self.endpoint.environ) or {"X-Registry-Auth": _NO_AUTH}
        reply = self._open("POST", f"/images/{_q(repository, '/:@')}/push", {"tag": tag}, headers=headers)
        return self._json_stream(reply)

    def build(
        self,
        path: str,
        dockerfile: str | None = None,
        tag: str | None = None,
        buildargs: Mapping[str, str] | None = None,
        target: str | None = None,
        nocache: bool = False,
        pull: bool = False,
        rm: bool = True,
        decode: bool = True,
        labels: Mapping[str, str] | None = None,
    ) -> Stream:
        """POST /build with the context as a tar (.dockerignore honoured); progress messages as dicts."""
        from composer.buildcontext import context_tar

        archive, dockerfile_in_tar = context_tar(path, dockerfile or "Dockerfile")
        params = {
            "t": tag,
            "dockerfile": dockerfile_in_tar,
            "buildargs": json.dumps(dict(buildargs)) if buildargs else None,
            "target": target,
            "nocache": _flag(nocache) if nocache else None,
            "pull": _flag(pull) if pull else None,
            "rm": _flag(rm),
            "labels": json.dumps(dict(labels)) if labels else None,
        }
        from composer.registry_auth import build_auth_header

        reply = self._open(
            "POST",
            "/build",
            params,
            data=archive,
            headers=build_auth_header(self.endpoint.environ),
            content_type="application/x-tar",
        )
        return self._json_stream(reply)

    def import_image_from_data(
        self, data: bytes, repository: str | None = None, tag: str | None = None
    ) -> Any:
        params = {"fromSrc": "-", "repo": repository, "tag": tag}
        reply = self._open("POST", "/images/create", params, data=data, content_type="application/tar")
        try:
            messages = list(json_messages(reply.chunks()))
        finally:
            reply.conn.close()
        for message in messages:
            if isinstance(message, dict) and message.get("error"):
                raise APIError(500, str(message["error"]))
        return messages

    def commit(
        self,
        container: str,
        repository: str | None = None,
        tag: str | None = None,
        message: str | None = None,
        author: str | None = None,
        pause: bool = True,
        changes: list[str] | None = None,
    ) -> JSON:
        """POST /commit: a new image from the container's changes (`changes`: Dockerfile instructions)."""
        params = [
            (key, value)
            for key, value in (
                ("container", container),
                ("repo", repository),
                ("tag", tag),
                ("comment", message),
                ("author", author),
                ("pause", _flag(pause)),
            )
            if value is not None
        ]
        params += [("changes", change) for change in changes or []]  # one query parameter per instruction
        return dict(self.request("POST", "/commit?" + _query(params), body={}))

    def export(self, container: str) -> Stream:
        """The container's filesystem as a tar stream."""
        reply = self._open("GET", f"/containers/{_q(container)}/export")
        return Stream(reply, reply.chunks())

    def inspect_distribution(self, image: str) -> JSON:
        """The registry's descriptor of an image (GET /distribution/{name}/json)."""
        return dict(self.get(f"/distribution/{_q(image, safe='/:@')}/json"))

    def remove_image(self, image: str, force: bool = False, noprune: bool = False) -> Any:
        return self.request(
            "DELETE",
            f"/images/{_q(image, '/:@')}",
            {"force": "1" if force else None, "noprune": "1" if noprune else None},
        )

    def prune_images(self, filters: Mapping[str, Any] | None = None) -> JSON:
        return dict(self.request("POST", "/images/prune", {"filters": _filters(filters)}) or {})

    # ---- events ----
    def events(
        self,
        since: float | None = None,
        until: float | None = None,
        filters: Mapping[str, Any] | None = None,
        decode: bool = True,
    ) -> Stream:
        """The engine's events as dicts, until `until` (or for as long as the stream is open)."""
        params = {"since": _timestamp(since), "until": _timestamp(until), "filters": _filters(filters)}
        saved, self.timeout = self.timeout, None
        try:
            reply = self._open("GET", "/events", params)
        finally:
            self.timeout = saved
        return self._json_stream(reply)


_NO_AUTH = "e30="  # base64.urlsafe_b64encode(b"{}"): an empty X-Registry-Auth


def _error(status: int, data: bytes, reason: str) -> APIError:
    try:
        message = str(json.loads(data).get("message", ""))
    except (ValueError, AttributeError):
        message = data.decode(errors="replace").strip()
    return APIError(status, message or reason or f"HTTP {status}")


def _param(value: Any) -> Any:
    if value is True:
        return "1"
    if value is False:
        return "0"
    return value


def _flag(value: bool) -> str:
    return "1" if value else "0"


def _timestamp(value: float | None) -> str | None:
    """Seconds since the epoch as the Engine API reads them: seconds[.nanoseconds]."""
    if value is None:
        return None
    seconds = int(value)
    nanos = int(round((value - seconds) * 1e9))
    return f"{seconds}.{nanos:09d}" if nanos else str(seconds)


def _filters(filters: Mapping[str, Any] | None) -> str | None:
    """docker-py's filter shape ({key: value or [values]}) as the API's JSON."""
    if not filters:
        return None
    return json.dumps(
        {
            k: [_filter_value(x) for x in (v if isinstance(v, list | tuple) else [v])]
            for k, v in filters.items()
        }
    )


def _filter_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _id(exec_id: str | Mapping[str, Any]) -> str:
    return str(exec_id["Id"]) if isinstance(exec_id, Mapping) else exec_id


# RFC 3986's unreserved characters, which percent-encoding leaves as they are. Encoded here rather than by
# urllib.parse, whose import (with ipaddress) is ~2.5 ms of a ~30 ms `composer ps`; tests/unit compare the
# two on every character class.
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~")


def _q(value: str, safe: str = "") -> str:
    """`urllib.parse.quote(value, safe=safe)`: a path segment or query value, UTF-8 percent-encoded."""
    keep = _UNRESERVED.union(safe.encode())
    raw = value.encode()
    if all(b in keep for b in raw):
        return value
    return "".join(chr(b) if b in keep else f"%{b:02X}" for b in raw)


def _query(pairs: Iterable[tuple[str, Any]]) -> str:
    """`urllib.parse.urlencode(pairs)`."""
    return "&".join(f"{_q_plus(str(k))}={_q_plus(str(v))}" for k, v in pairs)


def _q_plus(value: str) -> str:
    """`urllib.parse.quote_plus(value)`, as `urlencode` writes query keys and values (a space as +)."""
    return _q(value, " ").replace(" ", "+")
