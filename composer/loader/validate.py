"""Validation of Compose files: the JSON Schema (per file, before merge) and the consistency checks
of the canonical project (after normalization), both raising ConfigError located at file:line:col.

Messages follow the reference's wording so users (and our differential tests) see the same subject.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from composer.errors import ConfigError, Location
from composer.loader.hints import did_you_mean
from composer.loader.schema_file import SCHEMA_PATH, fast_check

if TYPE_CHECKING:
    import jsonschema
    from jsonschema.exceptions import ValidationError

log = logging.getLogger(__name__)

Marks = Mapping[tuple[Any, ...], Location]
_TYPE_NAMES = {
    "string": "a string",
    "number": "a number",
    "integer": "an integer",
    "boolean": "a boolean",
    "array": "an array",
    "object": "a mapping",
    "null": "null",
}


def format_key_path(path: Iterable[Any]) -> str:
    """("services","web","ports",0) -> "services.web.ports[0]" (Compose's dotted form)."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def locate(marks: Marks, path: tuple[Any, ...]) -> Location | None:
    """The location of `path`, or of its nearest ancestor the marks know."""
    for end in range(len(path), 0, -1):
        loc = marks.get(tuple(path[:end]))
        if loc is not None:
            return loc
    return None


@functools.cache
def _validator() -> jsonschema.Draft7Validator:
    import jsonschema  # ~50 ms: only paid when the fast check refuses a file

    with SCHEMA_PATH.open(encoding="utf-8") as fh:
        schema = json.load(fh)
    return jsonschema.Draft7Validator(schema)


def _allowed_keys(error: ValidationError) -> list[str]:
    return sorted(error.schema.get("properties", {}))


def _extra_keys(error: ValidationError) -> list[str]:
    allowed = set(error.schema.get("properties", {}))
    patterns = list(error.schema.get("patternProperties", {}))
    return [
        str(k) for k in error.instance if k not in allowed and not any(re.search(p, str(k)) for p in patterns)
    ]


def _describe(error: ValidationError) -> tuple[tuple[Any, ...], str, str | None]:
    """(key path, message, hint) for one schema error."""
    path = tuple(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        extra = _extra_keys(error) or ["?"]
        key = extra[0]
        hint = did_you_mean(key, _allowed_keys(error))
        names = ", ".join(f"'{k}'" for k in extra)
        return (*path, key), f"additional properties {names} not allowed", hint
    if error.validator == "type":
        expected = error.validator_value
        kinds = [expected] if isinstance(expected, str) else list(expected)
        return path, "must be " + _one_of_words([_TYPE_NAMES.get(n, n) for n in kinds]), None
    if error.validator == "enum":
        options = ", ".join(repr(v) for v in error.validator_value)
        return path, f"must be one of {options}", None
    if error.validator == "pattern":
        return path, f"{error.instance!r} does not match pattern '{error.validator_value}'", None
    if error.validator == "required":
        return path, error.message, None
    if error.validator == "uniqueItems" and isinstance(error.instance, list):
        items = error.instance
        first, second = next((i, j) for j in range(len(items)) for i in range(j) if items[i] == items[j])
        return path, f"items at {first} and {second} are equal", None
    if error.validator in ("oneOf", "anyOf"):
        inner = _error_in_matching_branch(error)
        if inner is not None:
            return _describe(inner)
        kinds = _branch_types(error.validator_value)
        if kinds:
            return path, f"must be {_one_of_words(kinds)}, not {_short(error.instance)}", None
        return path, f"invalid value {_short(error.instance)}", None
    return path, error.message, None


def _resolve(branch: dict[str, Any]) -> dict[str, Any]:
    ref = branch.get("$ref", "")
    if ref.startswith("#/definitions/"):
        resolved: dict[str, Any] = _validator().schema["definitions"][ref.rsplit("/", 1)[-1]]
        return resolved
    return branch


def _error_in_matching_branch(error: ValidationError) -> ValidationError | None:
    """When the value has the type of one alternative (a mapping where a mapping is allowed), the
    useful error is the one inside that alternative, not "must be X or Y"."""
    validator = _validator()
    for sub in sorted(error.context or [], key=lambda e: -len(e.absolute_path)):
        index = sub.relative_schema_path[0] if sub.relative_schema_path else None
        if not isinstance(index, int):
            continue
        kind = _resolve(error.validator_value[index]).get("type")
        kinds = [kind] if isinstance(kind, str) else list(kind or [])
        if sub.validator != "type" and any(validator.is_type(error.instance, k) for k in kinds):
            return sub
    return None


def _one_of_words(words: list[str]) -> str:
    """["a string", "an array"] -> "a string or an array"; three or more take commas."""
    if len(words) <= 2:
        return " or ".join(words)
    return ", ".join(words[:-1]) + " or " + words[-1]


def _branch_types(branches: list[dict[str, Any]]) -> list[str]:
    """The JSON types the alternatives of an anyOf accept, as words ("a string", "an array"...)."""
    words: list[str] = []
    for branch in map(_resolve, branches):
        if "anyOf" in branch:
            found = _branch_types(branch["anyOf"])
        else:
            kind = branch.get("type")
            found = [kind] if isinstance(kind, str) else list(kind or [])
            found = [_TYPE_NAMES.get(k, k) for k in found]
        words.extend(w for w in found if w not in words)
    return words


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _relevance(error: ValidationError) -> tuple[int, int]:
    # Prefer the misspelt-key report over a type mismatch inside a oneOf branch.
    return (0 if error.validator == "additionalProperties" else 1, -len(error.absolute_path))


def validate_schema(data: Mapping[str, Any], marks: Marks, filename: str) -> None:
    """Check one Compose file (after interpolation) against schemas/compose-spec.json."""
    if not isinstance(data, Mapping):
        raise ConfigError("top-level object must be a mapping", location=Location(filename, 1, 1))
    if _passes_fast_check(data):
        return
    from jsonschema.exceptions import best_match

    errors = list(_validator().iter_errors(data))
    if not errors:
        return
    error = best_match(errors, key=_relevance)
    path, message, hint = _describe(error)
    location = locate(marks, path) or Location(filename, 1, 1)
    raise ConfigError(message, location=location, key_path=format_key_path(path) or None, hint=hint)


def _passes_fast_check(data: Mapping[str, Any]) -> bool:
    """True only when jsonschema would find no error (see schema_compile); anything unusual enough to
    trip the compiled check is judged by jsonschema itself."""
    check = fast_check()
    if check is None:
        return False
    try:
        return check(data)
    except Exception as exc:  # e.g. a value type the compiled check does not model
        log.debug("fast schema check gave up error=%r", exc)
        return False


def _fail(marks: Marks, path: tuple[Any, ...], message: str, hint: str | None = None) -> ConfigError:
    return ConfigError(message, location=locate(marks, path), key_path=format_key_path(path), hint=hint)


def check_consistency(canonical: Mapping[str, Any], marks: Marks) -> None:
    """Reference cross-checks on the canonical project; raises ConfigError on the first problem."""
    from composer.loader.norm_consistency import check_services, check_top_level  # one job per module

    check_services(canonical, marks, _fail)
    check_top_level(canonical, marks, _fail)
    from composer.graph import check_cycles

    check_cycles(canonical, marks)
