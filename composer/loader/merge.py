"""Merging Compose files (and `extends`) with the Compose Specification's rules, as Compose v2 does.

Mappings merge key by key, sequences append, scalars are replaced (a null never replaces a value).
Some paths have their own rule (`_SPECIAL`): command/entrypoint/healthcheck.test are replaced;
labels, environment, build args... merge as `KEY=VALUE` sequences even when written as maps; build,
depends_on and networks accept their short forms. After a merge, `enforce_unicity` keeps one entry
per key in the sequences where entries are identified by a key (ports, volumes by target, ...),
the later entry taking the earlier one's place. `!reset` removes, `!override` replaces.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from composer.errors import ConfigError
from composer.loader.pathtable import PathTable, copy_tree
from composer.loader.yamlsrc import RESET, KeyPath, Override, path_str

Path = tuple[str, ...]


def _p(text: str) -> Path:
    return tuple(text.split("."))


# --- conversions between the short and long spellings the merge must reconcile ---


def _kv_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _to_sequence(value: Any) -> list[Any]:
    """Maps become sorted `K=V` strings (`K` for null values); a string becomes a one-item list."""
    if isinstance(value, dict):
        seq: list[str] = []
        for key, val in value.items():
            if val is None:
                seq.append(key)
            elif isinstance(val, list):
                seq.extend(f"{key}={_kv_text(v)}" for v in val)
            else:
                seq.append(f"{key}={_kv_text(val)}")
        return sorted(seq)
    if isinstance(value, list):
        return list(value)
    if isinstance(value, str):
        return [value]
    return []


def _to_mapping(value: Any, default: dict[str, Any] | None) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, list):
        return {str(item): (dict(default) if default is not None else None) for item in value}
    return {}


# --- special merge rules ---


Merger = Callable[[Any, Any, KeyPath], Any]


def _replace(_base: Any, other: Any, _path: KeyPath) -> Any:
    return other


def _as_sequences(base: Any, other: Any, _path: KeyPath) -> Any:
    return _to_sequence(base) + _to_sequence(other)


def _extra_hosts(base: Any, other: Any, _path: KeyPath) -> Any:
    left = _to_sequence(base)
    return left + [v for v in _to_sequence(other) if v not in left]


def _build(base: Any, other: Any, path: KeyPath) -> Any:
    def as_map(v: Any) -> dict[str, Any]:
        return {"context": v} if isinstance(v, str) else v if isinstance(v, dict) else {}

    return _merge_mappings(as_map(base), as_map(other), path)


_DEPENDENCY = {"condition": "service_started", "required": True}


def _depends_on(base: Any, other: Any, path: KeyPath) -> Any:
    return _merge_mappings(_to_mapping(base, _DEPENDENCY), _to_mapping(other, _DEPENDENCY), path)


def _name_mapping(base: Any, other: Any, path: KeyPath) -> Any:
    return _merge_mappings(_to_mapping(base, None), _to_mapping(other, None), path)


def _logging(base: Any, other: Any, path: KeyPath) -> Any:
    if not isinstance(base, dict) or not isinstance(other, dict):
        return other if other is not None else base
    if "driver" in base and "driver" in other and base["driver"] != other["driver"]:
        return other
    return _merge_mappings(base, other, path)


def _ipam_config(base: Any, other: Any, path: KeyPath) -> Any:
    """Pools are identified by subnet: same subnet merges, a new subnet is added."""
    if not isinstance(base, list) or not isinstance(other, list):
        return other
    pools = [dict(p) for p in base if isinstance(p, dict)]
    for pool in other:
        if not isinstance(pool, dict):
            continue
        same = next((i for i, p in enumerate(pools) if p.get("subnet") == pool.get("subnet")), None)
        if same is None:
            pools.append(pool)
        else:
            pools[same] = _merge_mappings(pools[same], pool, path)
    return pools


_SPECIAL: PathTable[Merger] = PathTable(
    [
        (_p("networks.*.ipam.config"), _ipam_config),
        (_p("networks.*.labels"), _as_sequences),
        (_p("volumes.*.labels"), _as_sequences),
        (_p("services.*.annotations"), _as_sequences),
        (_p("services.*.build"), _build),
        (_p("services.*.build.args"), _as_sequences),
        (_p("services.*.build.additional_contexts"), _as_sequences),
        (_p("services.*.build.extra_hosts"), _extra_hosts),
        (_p("services.*.build.labels"), _as_sequences),
        (_p("services.*.command"), _replace),
        (_p("services.*.depends_on"), _depends_on),
        (_p("services.*.deploy.labels"), _as_sequences),
        (_p("services.*.dns"), _as_sequences),
        (_p("services.*.dns_opt"), _as_sequences),
        (_p("services.*.dns_search"), _as_sequences),
        (_p("services.*.entrypoint"), _replace),
        (_p("services.*.env_file"), _as_sequences),
        (_p("services.*.label_file"), _as_sequences),
        (_p("services.*.environment"), _as_sequences),
        (_p("services.*.extra_hosts"), _extra_hosts),
        (_p("services.*.healthcheck.test"), _replace),
        (_p("services.*.labels"), _as_sequences),
        (_p("services.*.volumes.*.volume.labels"), _as_sequences),
        (_p("services.*.logging"), _logging),
        (_p("services.*.models"), _name_mapping),
        (_p("services.*.networks"), _name_mapping),
        (_p("services.*.sysctls"), _as_sequences),
        (_p("services.*.tmpfs"), _as_sequences),
        (_p("services.*.ulimits.*"), _replace),
    ]
)


def _merge_value(base: Any, other: Any, path: KeyPath) -> Any:
    if isinstance(other, Override):
        return copy_tree(other.value)
    merger = _SPECIAL.get(path)
    if merger is not None:
        return merger(base, other, path)
    if other is None:
        return base
    if isinstance(base, dict):
        if not isinstance(other, dict):
            raise ConfigError(f"cannot override {path_str(path)}")
        return _merge_mappings(base, other, path)
    if isinstance(base, list):
        if not isinstance(other, list):
            raise ConfigError(f"cannot override {path_str(path)}")
        return base + [v for v in other if v is not RESET]
    return other


def _merge_mappings(base: dict[str, Any], other: dict[str, Any], path: KeyPath) -> dict[str, Any]:
    out = dict(base)
    for key, value in other.items():
        if value is RESET:
            out.pop(key, None)
        elif key not in out:
            out[key] = value.value if isinstance(value, Override) else value
        else:
            out[key] = _merge_value(out[key], value, (*path, key))
    return out


def merge(base: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """`other` merged over `base` (neither is modified), then unique-by-key sequences deduplicated."""
    merged = _merge_mappings(copy_tree(base), copy_tree(other), ())
    unique: dict[str, Any] = enforce_unicity(merged)
    return unique


def merge_at(base: dict[str, Any], other: dict[str, Any], path: KeyPath) -> dict[str, Any]:
    """Merge two mappings that live at `path` (used by `extends` for one service)."""
    return _merge_mappings(copy_tree(base), copy_tree(other), path)


# --- unicity: one entry per key in keyed sequences ---

Indexer = Callable[[Any], str]


def _kv_key(value: Any) -> str:
    return _kv_text(value).split("=", 1)[0]


def _volume_key(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("target", ""))
    parts = str(value).split(":")
    return parts[0] if len(parts) == 1 else parts[1]


def _device_key(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("target", ""))
    parts = str(value).split(":")
    return parts[0] if len(parts) == 1 else parts[1]


def _mount_key(default_dir: str) -> Indexer:
    def key(value: Any) -> str:
        if isinstance(value, dict):
            if "target" in value:
                return str(value["target"])
            return f"{default_dir}/{value.get('source')}"
        return f"{default_dir}/{value}"

    return key


def _env_file_key(value: Any) -> str:
    return str(value.get("path")) if isinstance(value, dict) else str(value)


_ANY_HOST = "0.0.0.0"  # an unset host_ip binds all addresses: the same port as an explicit 0.0.0.0


def _port_key(value: Any) -> str:
    """Ports written short or long that publish the same thing get the same key
    (host_ip:published:target/protocol, as the reference keys its canonical ports)."""
    if isinstance(value, dict):
        host = value.get("host_ip") or _ANY_HOST
        published = _kv_text(value.get("published") or "")
        return f"{host}:{published}:{_kv_text(value.get('target'))}/{value.get('protocol') or 'tcp'}"
    text = _kv_text(value)
    spec, _, proto = text.partition("/")
    parts = spec.rsplit(":", 2) if not spec.startswith("[") else [spec]
    host, published, target = ([_ANY_HOST, ""] + parts)[-3:] if len(parts) < 3 else parts
    return f"{host or _ANY_HOST}:{published}:{target}/{proto or 'tcp'}"


_UNIQUE: PathTable[Indexer] = PathTable(
    (_p(text), indexer)
    for text, indexer in [
        ("networks.*.labels", _kv_key),
        ("networks.*.ipam.options", _kv_key),
        ("services.*.annotations", _kv_key),
        ("services.*.build.args", _kv_key),
        ("services.*.build.additional_contexts", _kv_key),
        ("services.*.build.platforms", _kv_key),
        ("services.*.build.tags", _kv_key),
        ("services.*.build.labels", _kv_key),
        ("services.*.cap_add", _kv_key),
        ("services.*.cap_drop", _kv_key),
        ("services.*.devices", _device_key),
        ("services.*.configs", _mount_key("")),
        ("services.*.deploy.labels", _kv_key),
        ("services.*.dns", _kv_key),
        ("services.*.dns_opt", _kv_key),
        ("services.*.dns_search", _kv_key),
        ("services.*.environment", _kv_key),
        ("services.*.env_file", _env_file_key),
        ("services.*.expose", _kv_text),
        ("services.*.labels", _kv_key),
        ("services.*.links", _kv_key),
        ("services.*.networks.*.aliases", _kv_key),
        ("services.*.networks.*.link_local_ips", _kv_key),
        ("services.*.ports", _port_key),
        ("services.*.profiles", _kv_key),
        ("services.*.secrets", _mount_key("/run/secrets")),
        ("services.*.sysctls", _kv_key),
        ("services.*.tmpfs", _kv_key),
        ("services.*.volumes", _volume_key),
    ]
)


def _unique(items: list[Any], indexer: Indexer) -> list[Any]:
    out: list[Any] = []
    position: dict[str, int] = {}
    for item in items:
        key = indexer(item)
        if key in position:
            out[position[key]] = item
        else:
            position[key] = len(out)
            out.append(item)
    return out


def enforce_unicity(value: Any, path: KeyPath = ()) -> Any:
    if isinstance(value, dict):
        return {k: enforce_unicity(v, (*path, k)) for k, v in value.items()}
    if isinstance(value, list):
        indexer = _UNIQUE.get(path)
        if indexer is not None:
            return _unique(value, indexer)
        return [enforce_unicity(v, (*path, i)) for i, v in enumerate(value)]
    return value
