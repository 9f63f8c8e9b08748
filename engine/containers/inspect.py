"""How containers look from outside: `docker inspect`'s JSON, `docker ps`'s summaries, and ps filters."""

from __future__ import annotations

import re
from typing import Any

from engine.containers.model import Container, parse_rfc3339
from engine.containers.mounts import inspect_mounts
from engine.errors import InvalidParameter

LIST_FILTERS = {
    "id",
    "name",
    "label",
    "status",
    "ancestor",
    "exited",
    "before",
    "since",
    "volume",
    "health",
    "network",
    "is-task",
    "publish",
    "expose",
}
STATUSES = ("created", "restarting", "running", "removing", "paused", "exited", "dead")


def _network_settings(c: Container) -> dict[str, Any]:
    mode = c.host_config.get("NetworkMode", "bridge")
    networks: dict[str, Any] = {}
    if mode in ("bridge", "host", "none"):
        # the view without engine.network (loopback only, no address); with it, the API shows its view
        networks[mode] = {
            "IPAMConfig": None,
            "Links": None,
            "Aliases": None,
            "MacAddress": "",
            "DriverOpts": None,
            "NetworkID": "",
            "EndpointID": "",
            "Gateway": "",
            "IPAddress": "",
            "IPPrefixLen": 0,
            "IPv6Gateway": "",
            "GlobalIPv6Address": "",
            "GlobalIPv6PrefixLen": 0,
            "DNSNames": None,
        }
    return {
        "Bridge": "",
        "SandboxID": "",
        "SandboxKey": "",
        "HairpinMode": False,
        "LinkLocalIPv6Address": "",
        "LinkLocalIPv6PrefixLen": 0,
        "Ports": {},
        "SecondaryIPAddresses": None,
        "SecondaryIPv6Addresses": None,
        "EndpointID": "",
        "Gateway": "",
        "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        "IPAddress": "",
        "IPPrefixLen": 0,
        "IPv6Gateway": "",
        "MacAddress": "",
        "Networks": networks,
    }


def inspect(
    c: Container,
    state_dir: str,
    log_path: str,
    driver_data: dict[str, Any] | None = None,
    size: tuple[int, int] | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Id": c.id,
        "Created": c.created,
        "Path": c.path,
        "Args": list(c.args),
        "State": c.state.to_json(),
        "Image": c.image_id,
        "ResolvConfPath": f"{state_dir}/resolv.conf",
        "HostnamePath": f"{state_dir}/hostname",
        "HostsPath": f"{state_dir}/hosts",
        "LogPath": log_path,
        "Name": "/" + c.name,
        "RestartCount": c.restart_count,
        "Driver": "overlay2",
        "Platform": "linux",
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "",
        "ExecIDs": list(c.exec_ids) or None,
        "HostConfig": c.host_config,
        "GraphDriver": {"Data": driver_data, "Name": "overlay2"},
        "Mounts": inspect_mounts(c.mounts),
        "Config": c.config,
        "NetworkSettings": _network_settings(c),
    }
    if size is not None:
        out["SizeRw"], out["SizeRootFs"] = size
    return out


def _human_ago(seconds: float) -> str:
    s = int(seconds)
    if s < 1:
        return "Less than a second"
    if s == 1:
        return "1 second"
    if s < 60:
        return f"{s} seconds"
    m = s // 60
    if m == 1:
        return "About a minute"
    if m < 60:
        return f"{m} minutes"
    h = round(s / 3600)
    if h == 1:
        return "About an hour"
    if h < 48:
        return f"{h} hours"
    if h < 24 * 7 * 2:
        return f"{h // 24} days"
    if h < 24 * 30 * 2:
        return f"{h // 24 // 7} weeks"
    if h < 24 * 365 * 2:
        return f"{h // 24 // 30} months"
    return f"{h // 24 // 365} years"


def status_text(c: Container, now: float) -> str:
    st = c.state
    if st.status in ("running", "paused"):
        text = f"Up {_human_ago(now - parse_rfc3339(st.started_at))}"
        if st.status == "paused":
            text += " (Paused)"
        elif st.health is not None:
            text += (
                f" (health: {st.health.status})"
                if st.health.status == "starting"
                else f" ({st.health.status})"
            )
        return text
    if st.status == "restarting":
        return f"Restarting ({st.exit_code}) {_human_ago(now - parse_rfc3339(st.finished_at))} ago"
    if st.status == "removing":
        return "Removal In Progress"
    if st.status == "dead":
        return "Dead"
    if st.status == "exited" and parse_rfc3339(st.finished_at):
        return f"Exited ({st.exit_code}) {_human_ago(now - parse_rfc3339(st.finished_at))} ago"
    return "Created"


def summary(c: Container, now: float, size: tuple[int, int] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Id": c.id,
        "Names": ["/" + c.name],
        "Image": c.image_name,
        "ImageID": c.image_id,
        "Command": " ".join([c.path, *c.args]),
        "Created": int(parse_rfc3339(c.created)),
        "Ports": [],
        "Labels": c.config.get("Labels") or {},
        "State": c.state.status,
        "Status": status_text(c, now),
        "HostConfig": {"NetworkMode": c.host_config.get("NetworkMode", "bridge")},
        "NetworkSettings": {"Networks": _network_settings(c)["Networks"]},
        "Mounts": inspect_mounts(c.mounts),
    }
    if size is not None:
        out["SizeRw"], out["SizeRootFs"] = size
    return out


def bare_summary(c: Container) -> dict[str, Any]:
    """What can always be shown of a record that `summary` cannot render (stored by an older engine)."""
    labels = c.config.get("Labels")
    return {
        "Id": c.id,
        "Names": ["/" + c.name],
        "Image": str(c.image_name),
        "ImageID": str(c.image_id),
        "Command": " ".join(str(a) for a in [c.path, *c.args]),
        "Created": 0,
        "Ports": [],
        "Labels": labels if isinstance(labels, dict) else {},
        "State": str(c.state.status),
        "Status": "",
        "HostConfig": {"NetworkMode": str(c.host_config.get("NetworkMode", "bridge"))},
        "NetworkSettings": {"Networks": {}},
        "Mounts": [],
    }


def _labels_ok(labels: dict[str, str], wanted: list[tuple[str, str, str]]) -> bool:
    """`wanted`: the label filters split once per listing ("key" or "key=value" partitioned at "=")."""
    return all(key in labels and (not sep or labels[key] == value) for key, sep, value in wanted)


def select(
    containers: list[Container],
    filters: dict[str, tuple[str, ...]],
    *,
    all_: bool,
    limit: int | None,
    image_matches: Any,
) -> list[Container]:
    """`docker ps` selection: newest first; filters AND across keys, OR within one key."""
    unknown = set(filters) - LIST_FILTERS
    if unknown:
        raise InvalidParameter(f"invalid filter '{sorted(unknown)[0]}'")
    for s in filters.get("status", ()):
        if s not in STATUSES:
            raise InvalidParameter(f"invalid filter 'status={s}'")
    for pattern in filters.get("name", ()):
        try:
            re.compile(pattern.lstrip("/"))
        except re.error as e:
            raise InvalidParameter(f"invalid filter 'name={pattern}': {e}") from None
    ordered = sorted(containers, key=lambda c: str(c.created), reverse=True)

    def bound(key: str) -> str | None:
        values = filters.get(key)
        if not values:
            return None
        ref = values[0].lstrip("/")
        match = next((c for c in ordered if ref in (c.id, c.name)), None) or next(
            (c for c in ordered if c.id.startswith(ref)), None
        )
        if match is None:
            raise InvalidParameter(f"No such container: {values[0]}")
        return match.created

    before, since = bound("before"), bound("since")
    # as dockerd: a status or exited filter, or a limit, implies --all
    all_ = all_ or bool(limit and limit > 0) or "status" in filters or "exited" in filters
    wanted_labels = [w.partition("=") for w in filters.get("label", ())]
    out = []
    for c in ordered:
        if not all_ and c.state.status not in ("running", "paused", "restarting"):
            continue
        if "id" in filters and not any(c.id.startswith(v) for v in filters["id"]):
            continue
        if "name" in filters and not any(re.search(v.lstrip("/"), c.name) for v in filters["name"]):
            continue
        labels = c.config.get("Labels")
        labels = labels if isinstance(labels, dict) else {}
        if wanted_labels and not _labels_ok(labels, wanted_labels):
            continue
        if "status" in filters and c.state.status not in filters["status"]:
            continue
        if "exited" in filters and not (
            c.state.status == "exited" and str(c.state.exit_code) in filters["exited"]
        ):
            continue
        if "ancestor" in filters and not any(image_matches(v, c) for v in filters["ancestor"]):
            continue
        if "volume" in filters and not any(
            p.get("Name") in filters["volume"] or p["Destination"] in filters["volume"] for p in c.mounts
        ):
            continue
        if "health" in filters:
            h = c.state.health.status if c.state.health else "none"
            if h not in filters["health"]:
                continue
        if "network" in filters and c.host_config.get("NetworkMode") not in filters["network"]:
            continue
        if "is-task" in filters and "true" in filters["is-task"]:
            continue
        if before is not None and c.created >= before:
            continue
        if since is not None and c.created <= since:
            continue
        out.append(c)
    if limit is not None and limit > 0:
        out = out[:limit]
    return out
