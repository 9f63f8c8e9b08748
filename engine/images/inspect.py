"""The JSON shapes Docker's API shows for images: inspect, list summary, and history."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.images import timefmt

if TYPE_CHECKING:
    from engine.images.store import Image, ImageStore

_CONFIG_DEFAULTS: dict[str, Any] = {
    "Hostname": "", "Domainname": "", "User": "", "AttachStdin": False, "AttachStdout": False,
    "AttachStderr": False, "Tty": False, "OpenStdin": False, "StdinOnce": False, "Env": None, "Cmd": None,
    "Image": "", "Volumes": None, "WorkingDir": "", "Entrypoint": None, "OnBuild": None, "Labels": None,
}


def container_config(image: Image) -> dict[str, Any]:
    """The image's `config` object with Docker's full set of keys."""
    return {**_CONFIG_DEFAULTS, **(image.config.get("config") or {})}


def inspect(store: ImageStore, image: Image) -> dict[str, Any]:
    """`GET /images/{name}/json`."""
    cfg = image.config
    dirs = [str(p) for p in store.lower_dirs(image)]
    graph: dict[str, str] = {}
    if dirs:
        top = store.layers.get(image.diff_ids[-1]).path.parent
        graph = {"MergedDir": str(top / "merged"), "UpperDir": dirs[0], "WorkDir": str(top / "work")}
        if len(dirs) > 1:
            graph["LowerDir"] = ":".join(dirs[1:])
    out: dict[str, Any] = {
        "Id": image.id,
        "RepoTags": list(image.repo_tags),
        "RepoDigests": list(image.repo_digests),
        "Parent": image.parent,
        "Comment": cfg.get("comment", ""),
        "Created": cfg.get("created", ""),
        "DockerVersion": cfg.get("docker_version", ""),
        "Author": cfg.get("author", ""),
        "Config": container_config(image),
        "Architecture": cfg.get("architecture", ""),
        "Os": cfg.get("os", ""),
        "Size": image.size,
        "GraphDriver": {"Data": graph or None, "Name": "overlay2"},
        "RootFS": {"Type": cfg.get("rootfs", {}).get("type", "layers"), "Layers": image.diff_ids},
        "Metadata": {"LastTagTime": image.last_tag_time or timefmt.ZERO_TIME},
    }
    for key, name in (("variant", "Variant"), ("os.version", "OsVersion")):
        if cfg.get(key):
            out[name] = cfg[key]
    return out


def summary(image: Image) -> dict[str, Any]:
    """One entry of `GET /images/json`."""
    return {
        "Id": image.id,
        "ParentId": image.parent,
        "RepoTags": list(image.repo_tags),
        "RepoDigests": list(image.repo_digests),
        "Created": timefmt.to_unix(image.config.get("created")),
        "Size": image.size,
        "SharedSize": -1,
        "Labels": (image.config.get("config") or {}).get("Labels") or {},
        "Containers": -1,
    }


def history(store: ImageStore, image: Image) -> list[dict[str, Any]]:
    """`GET /images/{name}/history`: newest first; only the top entry carries the image id and tags."""
    diff_ids = image.diff_ids
    entries = image.config.get("history") or [{"created": image.config.get("created")} for _ in diff_ids]
    rows: list[dict[str, Any]] = []
    layer_index = 0
    for entry in entries:
        size = 0
        if not entry.get("empty_layer") and layer_index < len(diff_ids):
            size = store.layers.get(diff_ids[layer_index]).size
            layer_index += 1
        rows.append({
            "Id": "<missing>",
            "Created": timefmt.to_unix(entry.get("created")),
            "CreatedBy": entry.get("created_by", ""),
            "Tags": None,
            "Size": size,
            "Comment": entry.get("comment", ""),
        })
    rows.reverse()
    if rows:
        rows[0]["Id"] = image.id
        rows[0]["Tags"] = list(image.repo_tags) or None
    return rows
