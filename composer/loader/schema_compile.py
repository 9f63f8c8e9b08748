"""A fast yes/no check compiled from the Compose JSON Schema into plain Python functions.

jsonschema interprets the schema node by node for every value (and costs ~50 ms just to import); this
module turns each schema node into one small Python function once, so checking a valid file is a few
hundred direct calls. The check is deliberately one-sided: it answers True only when jsonschema's
Draft 7 validator would find no error. Anything it does not model exactly (non-string enum members,
uniqueItems over floats or mixed values, keys that are not strings...) answers False or raises, and the
caller then asks jsonschema, which also words the error. So verdicts and messages never change.

Supported keywords are exactly those our schema uses; an unknown keyword makes the whole check refuse
(`compile_check` returns None) rather than silently accept.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

Check = Callable[[Any], bool]

# Keywords that carry no constraint for validation (Draft 7 annotations and containers).
_ANNOTATIONS = frozenset(
    {"$schema", "$id", "$comment", "title", "description", "default", "examples", "definitions"}
)
_KEYWORDS = frozenset(
    {"type", "$ref", "properties", "patternProperties", "additionalProperties", "items", "anyOf", "required"}
    | {"enum", "uniqueItems", "pattern"}
)

# Type tests mirroring jsonschema's Draft 7 type checker; "number" accepts only int/float (a subset of
# its numbers.Number), which keeps the check one-sided.
_TYPE_TESTS = {
    "string": "isinstance(x, str)",
    "object": "isinstance(x, dict)",
    "array": "isinstance(x, list)",
    "boolean": "isinstance(x, bool)",
    "null": "x is None",
    "integer": (
        "((isinstance(x, int) and not isinstance(x, bool)) or (isinstance(x, float) and x.is_integer()))"
    ),
    "number": "(isinstance(x, (int, float)) and not isinstance(x, bool))",
}


class Unsupported(Exception):
    """The schema uses a keyword or form this compiler does not model."""


class _Generator:
    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        self.lines: list[str] = []
        self.constants: list[str] = []
        self.count = 0
        self.definitions: dict[str, str] = {}

    def constant(self, source: str) -> str:
        name = f"_c{len(self.constants)}"
        self.constants.append(f"{name} = {source}")
        return name

    def definition(self, ref: str) -> str:
        prefix = "#/definitions/"
        if not ref.startswith(prefix) or "/" in ref[len(prefix) :]:
            raise Unsupported(f"$ref {ref}")
        name = ref[len(prefix) :]
        if name not in self.definitions:
            self.definitions[name] = f"_d{len(self.definitions)}"
            body = self.schema.get("definitions", {}).get(name)
            if body is None:
                raise Unsupported(f"$ref {ref}")
            self.function(body, self.definitions[name])
        return self.definitions[name]

    def node(self, schema: Any) -> str:
        """The name of a function checking `schema`."""
        if schema is True or schema == {}:
            return "_true"
        if schema is False:
            return "_false"
        self.count += 1
        return self.function(schema, f"_n{self.count}")

    def function(self, schema: Any, name: str) -> str:
        if not isinstance(schema, dict):
            if isinstance(schema, bool):
                self.lines += [f"def {name}(x):", f"    return {schema}", ""]
                return name
            raise Unsupported(f"schema {schema!r}")
        unknown = set(schema) - _KEYWORDS - _ANNOTATIONS
        if unknown:
            raise Unsupported(f"keywords {sorted(unknown)}")
        if "$ref" in schema:  # Draft 7: siblings of $ref are ignored
            target = self.definition(schema["$ref"])
            self.lines += [f"def {name}(x):", f"    return {target}(x)", ""]
            return name
        body: list[str] = []
        if "type" in schema:
            kinds = [schema["type"]] if isinstance(schema["type"], str) else list(schema["type"])
            if any(k not in _TYPE_TESTS for k in kinds):
                raise Unsupported(f"type {kinds}")
            body.append(f"if not ({' or '.join(_TYPE_TESTS[k] for k in kinds)}): return False")
        if "enum" in schema:
            values = schema["enum"]
            strings = [v for v in values if isinstance(v, str)]
            # a string instance equals only string members; anything else is left to jsonschema
            members = self.constant(_set_source(strings))
            body.append(f"if not (isinstance(x, str) and x in {members}): return False")
        if "pattern" in schema:
            search = self.constant(f"re.compile({schema['pattern']!r}).search")
            body.append(f"if isinstance(x, str) and not {search}(x): return False")
        object_lines = self.object_checks(schema)
        if object_lines:
            body.append("if isinstance(x, dict):")
            body += ["    " + line for line in object_lines]
        array_lines = self.array_checks(schema)
        if array_lines:
            body.append("if isinstance(x, list):")
            body += ["    " + line for line in array_lines]
        if "anyOf" in schema:
            branches = [self.node(b) for b in schema["anyOf"]]
            body.append(f"if not ({' or '.join(f'{b}(x)' for b in branches)}): return False")
        self.lines += [f"def {name}(x):", *("    " + line for line in body), "    return True", ""]
        return name

    def object_checks(self, schema: dict[str, Any]) -> list[str]:
        lines: list[str] = []
        for key in schema.get("required", []):
            lines.append(f"if {key!r} not in x: return False")
        properties: dict[str, Any] = schema.get("properties", {})
        checks = {key: self.node(sub) for key, sub in properties.items()}
        checks = {k: f for k, f in checks.items() if f != "_true"}
        if checks:
            table = self.constant("{" + ", ".join(f"{k!r}: {f}" for k, f in checks.items()) + "}")
            lines += [f"for k, f in {table}.items():", "    if k in x and not f(x[k]): return False"]
        patterns: dict[str, Any] = schema.get("patternProperties", {})
        for pattern, sub in patterns.items():
            search = self.constant(f"re.compile({pattern!r}).search")
            check = self.node(sub)
            if check != "_true":
                lines += ["for k, v in x.items():", f"    if {search}(k) and not {check}(v): return False"]
            else:
                lines += ["for k in x:", f"    {search}(k)"]  # raises on a non-string key, as jsonschema
        additional = schema.get("additionalProperties", True)
        if additional is not True:
            joined = "|".join(patterns)
            known = self.constant(_set_source(properties))
            condition = f"k not in {known}"
            if joined:
                condition += f" and not {self.constant(f're.compile({joined!r}).search')}(k)"
            check = self.node(additional)
            lines += ["for k, v in x.items():", f"    if {condition} and not {check}(v): return False"]
        return lines

    def array_checks(self, schema: dict[str, Any]) -> list[str]:
        lines: list[str] = []
        if "items" in schema:
            items = schema["items"]
            if not isinstance(items, dict | bool):
                raise Unsupported("tuple items")
            check = self.node(items)
            if check != "_true":
                lines += ["for v in x:", f"    if not {check}(v): return False"]
        if schema.get("uniqueItems"):
            lines.append("if not _unique(x): return False")
        return lines


def _set_source(items: Any) -> str:
    """A frozenset literal with a stable order, so regenerating an unchanged schema changes nothing."""
    return f"frozenset({tuple(sorted(items))!r})"


_PRELUDE = """\
import re


def _true(x):
    return True


def _false(x):
    return False


def _unique(items):
    # strings and (non-bool) ints compare in a set exactly as jsonschema compares them; other items
    # (floats, bools, containers) are left to jsonschema
    if not all(isinstance(i, str) or (isinstance(i, int) and not isinstance(i, bool)) for i in items):
        return False
    return len(set(items)) == len(items)

"""


def generate(schema: dict[str, Any], digest: str) -> str:
    """Python source defining `check(x) -> bool` for `schema`; raises Unsupported."""
    gen = _Generator(schema)
    root = gen.function(schema, "check")
    assert root == "check"
    header = (
        '"""Generated by composer.loader.schema_compile from schemas/compose-spec.json: do not edit;\n'
        'regenerate with `python -m composer.loader.schema_file`."""\n# ruff: noqa\n# mypy: ignore-errors\n'
    )
    return "\n".join([header, f"SCHEMA_KEY = {digest!r}", _PRELUDE, *gen.lines, *gen.constants, ""])


def compile_check(schema_text: bytes, digest: str = "") -> Check | None:
    """The compiled check for a schema (`digest`: the key it is stored under, see schema_file), or None
    when it uses something we do not model."""
    try:
        source = generate(json.loads(schema_text), digest)
    except Unsupported as exc:
        log.debug("schema not compiled reason=%s", exc)
        return None
    namespace: dict[str, Any] = {"re": re}
    exec(compile(source, "<compose-spec check>", "exec"), namespace)  # noqa: S102 - our own generated code
    check: Check = namespace["check"]
    return check
