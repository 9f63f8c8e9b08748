"""Read-only containers for the model: dicts become mappingproxies, lists tuples (and back)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from composer._typecheck import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

    FrozenMap = Mapping[str, Any]
else:
    FrozenMap = Mapping  # the same class at run time: its parameters matter to the type checker only


def empty() -> FrozenMap:
    return MappingProxyType({})


def freeze(value: Any) -> Any:
    """Dicts become read-only mappings and lists tuples, recursively."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """The inverse of `freeze`: plain dicts and lists, ready for JSON."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [thaw(v) for v in value]
    return value


def pick(d: Mapping[str, Any], known: tuple[str, ...]) -> tuple[dict[str, Any], FrozenMap]:
    """Split a dict into the known fields and a frozen mapping of the rest."""
    return {k: d[k] for k in known if k in d}, freeze({k: v for k, v in d.items() if k not in known})


def put(out: dict[str, Any], key: str, value: Any) -> None:
    """Set `key` unless the value is None (the canonical form omits unset fields)."""
    if value is not None:
        out[key] = thaw(value)
