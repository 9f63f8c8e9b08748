"""Parse Compose YAML into plain values plus a Location for every key path.

Compose v2 reads files with go-yaml v3, whose scalar typing is YAML 1.2-like: `yes`, `on`, `off`
stay strings, `0777` is octal, `1_000` is an int. PyYAML resolves YAML 1.1, so we let the C
parser build the node graph and resolve plain scalars ourselves (`_resolve_plain`).

`!reset` and `!override` become wrapper values (`RESET`, `Override`) that `merge.py` understands;
`strip_tags` removes them once nothing is left to merge.
"""

from __future__ import annotations

import base64
import logging
import math
import re
from dataclasses import dataclass
from typing import Any, TypeAlias

import yaml
import yaml.cyaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from composer.errors import ConfigError, Location
from composer.loader.inputs import note
from composer.loader.yamltime import parse_timestamp

log = logging.getLogger(__name__)

Key: TypeAlias = str | int
KeyPath: TypeAlias = tuple[Key, ...]
# key path -> where it was written; for mapping entries the key's position, for items the item's
# (under their index, and for string items also under the text before any `=`).
Marks: TypeAlias = dict[KeyPath, Location]

MAX_NODE_VISITS = 100_000  # same guard as compose-go against alias bombs

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_MERGE = "tag:yaml.org,2002:merge"
_BINARY = "tag:yaml.org,2002:binary"
_PLAIN = "tag:composer,2026:plain"  # untagged plain scalar, typed by _resolve_plain


@dataclass(frozen=True)
class _Reset:
    """`!reset`: remove this key from what came before."""

    def __repr__(self) -> str:
        return "RESET"

    def __copy__(self) -> _Reset:
        return self  # a singleton: code tests `is RESET`

    def __deepcopy__(self, memo: dict[int, Any]) -> _Reset:
        return self


RESET = _Reset()


@dataclass(frozen=True)
class Override:
    """`!override value`: replace what came before instead of merging with it."""

    value: Any


@dataclass(frozen=True)
class Document:
    data: dict[str, Any]
    marks: Marks
    filename: str


def path_str(path: KeyPath) -> str:
    """Dotted key path as Compose prints it (`services.web.ports[0]`)."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out


# --- scalar typing (go-yaml v3 rules for plain scalars) ---

_NULLS = {"", "~", "null", "Null", "NULL"}
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_FLOAT_RE = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_SPECIAL_FLOATS = {
    **{s: math.inf for s in (".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF")},
    **{s: -math.inf for s in ("-.inf", "-.Inf", "-.INF")},
    **{s: math.nan for s in (".nan", ".NaN", ".NAN")},
}
_INT_BASES = {"0x": (16, "0123456789abcdefABCDEF"), "0o": (8, "01234567"), "0b": (2, "01")}


def _parse_int(text: str) -> int | None:
    """Integer like Go's strconv.ParseInt(s, 0, 64) after go-yaml drops underscores."""
    s = text.replace("_", "")
    sign = 1
    if s[:1] in "+-" and s:
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    if not s:
        return None
    prefix = s[:2].lower()
    if prefix in _INT_BASES and len(s) > 2:
        base, digits = _INT_BASES[prefix]
        body = s[2:]
    elif len(s) > 1 and s[0] == "0":
        base, digits, body = 8, "01234567", s[1:]
    else:
        base, digits, body = 10, "0123456789", s
    if not body or any(c not in digits for c in body):
        return None
    value = sign * int(body, base)
    if value < -(2**63) or value >= 2**64:
        return None
    return value


def _resolve_plain(value: str) -> Any:
    if value in _NULLS:
        return None
    if value in _BOOLS:
        return _BOOLS[value]
    if value in _SPECIAL_FLOATS:
        return _SPECIAL_FLOATS[value]
    if value[:1].isdigit() and "-" in value:
        stamp = parse_timestamp(value)
        if stamp is not None:
            return stamp
    if value[:1] in "+-.0123456789":
        number = _parse_int(value)
        if number is not None:
            return number
        plain = value.replace("_", "")
        if _FLOAT_RE.match(plain):
            real = float(plain)
            if not math.isinf(real):  # Go's ParseFloat fails on overflow: the text stays a string
                return real
    return value


class _Resolver(yaml.resolver.BaseResolver):
    """Tags untagged plain scalars _PLAIN (typed later) and quoted ones str; `<<` stays a merge key."""

    def resolve(self, kind: type, value: Any, implicit: Any) -> str:
        if kind is ScalarNode:
            if implicit[0]:
                return _MERGE if value == "<<" else _PLAIN
            return _STR
        tag: str = super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
        return tag


if getattr(yaml, "__with_libyaml__", False):

    class _NodeLoader(yaml.cyaml.CParser, _Resolver):  # type: ignore[misc, name-defined]
        def __init__(self, stream: str) -> None:
            yaml.cyaml.CParser.__init__(self, stream)  # type: ignore[attr-defined]
            _Resolver.__init__(self)

else:  # pragma: no cover - only without libyaml

    class _NodeLoader(  # type: ignore[no-redef]
        yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser, yaml.composer.Composer, _Resolver
    ):
        def __init__(self, stream: str) -> None:
            yaml.reader.Reader.__init__(self, stream)
            yaml.scanner.Scanner.__init__(self)
            yaml.parser.Parser.__init__(self)
            yaml.composer.Composer.__init__(self)
            _Resolver.__init__(self)


def _loc(filename: str, node: Node) -> Location:
    return Location(filename, node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    """Turns one document's node graph into plain values, recording marks on the way."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.marks: Marks = {}
        self.visits = 0
        self.building: set[int] = set()  # ids of the collection nodes being built: alias cycles

    def error(self, message: str, node: Node, path: KeyPath) -> ConfigError:
        return ConfigError(message, location=_loc(self.filename, node), key_path=path_str(path) or None)

    def build(self, node: Node, path: KeyPath) -> Any:
        self.visits += 1
        if self.visits > MAX_NODE_VISITS:
            raise self.error(f"compose file exceeds maximum node visit limit ({MAX_NODE_VISITS})", node, path)
        if node.tag == "!reset":
            return RESET
        if node.tag == "!override":
            return Override(self._plain(node, path))
        return self._plain(node, path)

    def _plain(self, node: Node, path: KeyPath) -> Any:
        if isinstance(node, ScalarNode):
            return self._scalar(node, path)
        if id(node) in self.building:
            raise self.error("anchor value contains itself", node, path)
        self.building.add(id(node))
        try:
            return self._collection(node, path)
        finally:
            self.building.discard(id(node))

    def _collection(self, node: Node, path: KeyPath) -> Any:
        if isinstance(node, SequenceNode):
            items: list[Any] = []
            for item in node.value:
                item_path = (*path, len(items))
                value = self.build(item, item_path)
                if value is RESET:
                    continue
                location = _loc(self.filename, item)
                self.marks.setdefault(item_path, location)
                if isinstance(value, str) and value:
                    # list spellings of maps (`depends_on: [db]`, `environment: [A=1]`) become
                    # mappings: let `("depends_on", "db")` find the item too
                    self.marks.setdefault((*path, value.split("=", 1)[0]), location)
                items.append(value)
            return items
        assert isinstance(node, MappingNode)
        return self._mapping(node, path)

    def _scalar(self, node: ScalarNode, path: KeyPath) -> Any:
        tag, value = node.tag, node.value
        if tag == _PLAIN:
            return _resolve_plain(value)
        if tag == _STR:
            return value
        if tag in (_INT, _FLOAT):
            number = _resolve_plain(value)
            if isinstance(number, bool) or not isinstance(number, int | float):
                raise self.error(f"cannot decode {value!r} as {tag.rsplit(':', 1)[-1]}", node, path)
            return float(number) if tag == _FLOAT else number
        if tag == _BOOL:
            if value not in _BOOLS:
                raise self.error(f"cannot decode {value!r} as bool", node, path)
            return _BOOLS[value]
        if tag == _NULL:
            return None
        if tag == _BINARY:
            try:
                return base64.b64decode("".join(value.split()), validate=True).decode("utf-8", "replace")
            except ValueError:
                raise self.error(f"cannot decode {value!r} as binary", node, path) from None
        if tag.startswith("tag:yaml.org,2002:") and tag != _MERGE:
            return value
        # local tags other than !reset/!override: go-yaml decodes the plain value
        return _resolve_plain(value) if not node.style else value

    def _mapping(self, node: MappingNode, path: KeyPath) -> dict[str, Any]:
        out: dict[str, Any] = {}
        seen: dict[str, int] = {}
        merged: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                self._merge_into(merged, value_node, path)
                continue
            key = self._scalar(key_node, path) if isinstance(key_node, ScalarNode) else None
            if not isinstance(key, str):
                where = f"in {path_str(path)}" if path else "at top level"
                shown = key_node.value if isinstance(key_node, ScalarNode) else "<complex key>"
                raise ConfigError(f"non-string key {where}: {shown}", location=_loc(self.filename, key_node))
            if key in seen:
                raise self.error(
                    f'mapping key "{key}" already defined at line {seen[key]}', key_node, (*path, key)
                )
            seen[key] = key_node.start_mark.line + 1
            child = (*path, key)
            self.marks[child] = _loc(self.filename, key_node)
            value = self.build(value_node, child)
            if value is RESET:
                out[key] = RESET  # kept so merge can drop the key from earlier files
                continue
            out[key] = value
        for key, value in merged.items():
            if out.get(key) is RESET:
                # go-yaml drops the `!reset` node, then `<<` fills the key in: the merged value
                # replaces what earlier files had
                out[key] = Override(value)
            else:
                out.setdefault(key, value)
        return out

    def _merge_into(self, merged: dict[str, Any], node: Node, path: KeyPath) -> None:
        """`<<: *a` or `<<: [*a, *b]`: earlier sources win over later ones, explicit keys over all."""
        sources = node.value if isinstance(node, SequenceNode) else [node]
        for source in sources:
            if not isinstance(source, MappingNode):
                raise self.error("map merge requires map or sequence of maps as the value", source, path)
            for key, value in self._plain(source, path).items():
                merged.setdefault(key, value)


def parse_documents(text: str, filename: str) -> list[Document]:
    """All documents of one Compose file; each must be a mapping. Empty documents are skipped."""
    loader = _NodeLoader(text)
    docs: list[Document] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            builder = _Builder(filename)
            data = builder.build(node, ())
            if data is None:
                continue
            if not isinstance(data, dict):
                raise ConfigError("top-level object must be a mapping", location=_loc(filename, node))
            docs.append(Document(data, builder.marks, filename))
    except yaml.MarkedYAMLError as exc:
        # the construct left open (context) tells the user more than where the parser gave up
        mark = exc.context_mark or exc.problem_mark
        location = Location(filename, mark.line + 1, mark.column + 1) if mark else None
        parts = [p for p in (exc.context, exc.problem) if p]
        raise ConfigError(f"yaml: {': '.join(parts) or 'invalid YAML'}", location=location) from None
    except yaml.YAMLError as exc:  # reader errors (bad characters): first line only
        first = str(exc).splitlines()[0] if str(exc) else "invalid YAML"
        raise ConfigError(f"yaml: {first}", location=Location(filename, 1, 1)) from None
    finally:
        loader.dispose()
    return docs


def read_file(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        note(path, text)
        return text
    except OSError as exc:
        reason = (exc.strerror or str(exc)).lower()
        raise ConfigError(f"open {path}: {reason}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"failed to read {path}: not valid UTF-8 ({exc.reason})") from None


def strip_tags(value: Any) -> Any:
    """Drop leftover `!reset` keys and unwrap `!override` once merging is over."""
    if isinstance(value, Override):
        return strip_tags(value.value)
    if isinstance(value, dict):
        return {k: strip_tags(v) for k, v in value.items() if v is not RESET}
    if isinstance(value, list):
        return [strip_tags(v) for v in value if v is not RESET]
    return value
