"""Values as Go's text/template sees them: structs (`Record`), maps, slices, nil; printing and JSON."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from composer._typecheck import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any


class HeaderMap(dict[str, str]):
    """A table's column titles by field (a Go map), with methods such as `Label` for the header row."""

    def __init__(self, titles: Mapping[str, str], methods: Mapping[str, Callable[..., str]] | None = None):
        super().__init__(titles)
        self.methods = dict(methods or {})


class TemplateError(Exception):
    """A template that cannot be parsed or executed; the message is one line in Go's wording."""


@dataclass
class Record:
    """A Go struct: named fields in order (what `json` prints) plus methods callable with arguments."""

    type_name: str
    fields: dict[str, Any]
    methods: dict[str, Callable[..., Any]] = field(default_factory=dict)

    def names(self) -> list[str]:
        return sorted({*self.fields, *self.methods})


def go_string(value: Any) -> str:
    """fmt's %v of a value."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, Record):
        return "{" + " ".join(go_string(v) for v in value.fields.values()) + "}"
    if isinstance(value, Mapping):
        return "map[" + " ".join(f"{go_string(k)}:{go_string(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(go_string(v) for v in value) + "]"
    return str(value)


def _go_float(value: float) -> str:
    if value == int(value) and abs(value) < 1e21:
        return str(int(value))
    text = repr(value)
    return text.replace("e-0", "e-").replace("e+0", "e+") if "e" in text else text


def to_json(value: Any) -> str:
    """The docker CLI's `json` function: encoding/json without HTML escaping."""
    return json.dumps(_plain(value), separators=(",", ":"), ensure_ascii=False)


def _plain(value: Any) -> Any:
    if isinstance(value, Record):
        return {k: _plain(v) for k, v in value.fields.items()}
    if isinstance(value, Mapping):
        return {str(k): _plain(value[k]) for k in sorted(value)}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def truth(value: Any) -> bool:
    if isinstance(value, Record):
        return True
    if isinstance(value, (list, tuple, Mapping, str)):
        return len(value) > 0
    return bool(value)


def go_type(value: Any) -> str:
    return {bool: "bool", int: "int", float: "float64", str: "string"}.get(type(value), type(value).__name__)
