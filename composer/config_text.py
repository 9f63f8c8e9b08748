"""The project as text, as `docker compose config` writes it: JSON and YAML in the reference's style (the
`config` and `convert` commands). Apart from `composer.presenter` so that the commands that print no
document do not pay for this module's imports and patterns.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Mapping

from composer._typecheck import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any


def to_json(data: Any) -> str:
    """JSON as the reference prints it: two-space indent, keys in model order, no trailing newline added.

    Byte for byte what `json.dumps(data, indent=2, ensure_ascii=False)` prints; its indenting encoder is
    pure Python and slow on large models, so plain trees go through `_json_lines` and anything unusual
    (non-string keys, NaN, other types) through json.dumps itself."""
    out_parts: list[str] = []
    try:
        _json_lines(data, "\n", out_parts)
    except _NotPlain:
        return json.dumps(data, indent=2, ensure_ascii=False)
    return "".join(out_parts)


class _NotPlain(Exception):
    """A value the fast JSON path leaves to json.dumps."""


_json_string = json.encoder.encode_basestring  # the C escaper json.dumps uses with ensure_ascii=False


def _json_lines(value: Any, newline: str, parts: list[str]) -> None:
    kind = type(value)
    if kind is str:
        parts.append(_json_string(value))
    elif kind is dict:
        if not value:
            parts.append("{}")
            return
        inner = newline + "  "
        separator = "{" + inner
        for key, item in value.items():
            if type(key) is not str:
                raise _NotPlain
            parts.append(separator)
            parts.append(_json_string(key))
            parts.append(": ")
            _json_lines(item, inner, parts)
            separator = "," + inner
        parts.append(newline + "}")
    elif kind is list:
        if not value:
            parts.append("[]")
            return
        inner = newline + "  "
        separator = "[" + inner
        for item in value:
            parts.append(separator)
            _json_lines(item, inner, parts)
            separator = "," + inner
        parts.append(newline + "]")
    elif value is None:
        parts.append("null")
    elif value is True:
        parts.append("true")
    elif value is False:
        parts.append("false")
    elif kind is int:
        parts.append(int.__repr__(value))
    elif kind is float and math.isfinite(value):
        parts.append(float.__repr__(value))
    else:
        raise _NotPlain


# --- YAML --------------------------------------------------------------------------------------------
# A small emitter in the reference's style (block style, two-space indent, sequences indented under their
# key, literal blocks for multi-line text). It keeps the model's key order; PyYAML's dumper would either
# sort keys or need a custom representer per type, and importing it costs more than this.

# Scalars that a YAML 1.1 or 1.2 reader would not read back as the same string must be quoted.
_SPECIAL_WORDS = re.compile(
    r"^(?:~|null|Null|NULL|y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE"
    r"|on|On|ON|off|Off|OFF|\.inf|\.Inf|\.INF|-\.inf|-\.Inf|-\.INF|\.nan|\.NaN|\.NAN|<<|=)$"
)
_NUMBER_LIKE = re.compile(
    r"^[-+]?(?:0b[01_]+|0o?[0-7_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?"
    r"|[0-9][0-9_]*|(?:[0-9][0-9_]*)?\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+)$"
)
_TIMESTAMP = re.compile(r"^\d{4}-\d\d?-\d\d?(?:[Tt ].*)?$")
_CONTROL = re.compile("[\x00-\x1f\x7f]")
_INDICATORS = set("-?:,[]{}#&*!|>'\"%@`")


def _ambiguous(text: str) -> bool:
    """Would read back as something other than this string (go-yaml double-quotes these)."""
    if text == "":
        return True
    return bool(_SPECIAL_WORDS.match(text) or _NUMBER_LIKE.match(text) or _TIMESTAMP.match(text))


def _needs_quotes(text: str) -> bool:
    """Cannot be written plain (go-yaml single-quotes these when it can)."""
    if text != text.strip():
        return True
    first = text[0]
    if first in _INDICATORS and not (first in "-?:" and len(text) > 1 and text[1] not in " \t"):
        return True
    if ": " in text or " #" in text or text.endswith(":"):
        return True
    return bool(_CONTROL.search(text))


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        return repr(value)
    return _text_scalar(str(value))


@functools.lru_cache(maxsize=4096)  # keys and many values repeat across services
def _text_scalar(text: str) -> str:
    if _ambiguous(text) or _CONTROL.search(text):
        return _quote(text)
    if _needs_quotes(text):
        return "'" + text.replace("'", "''") + "'"
    return text


def _key(key: Any) -> str:
    return _scalar(key) if isinstance(key, str) else _scalar(str(key))


def _block_text(text: str, indent: str) -> str | None:
    """A literal block for multi-line text that round-trips exactly, else None."""
    if "\n" not in text or any(ord(ch) < 0x20 and ch not in "\n" for ch in text):
        return None
    body = text[:-1] if text.endswith("\n") else text
    if (
        body.endswith("\n")
        or body.startswith((" ", "\n"))
        or any(ln != ln.rstrip() for ln in body.split("\n"))
    ):
        return None
    chomp = "|" if text.endswith("\n") else "|-"
    rendered = "\n".join(indent + ln if ln else "" for ln in body.split("\n"))
    return f"{chomp}\n{rendered}"


def _emit(value: Any, indent: str, out_lines: list[str], prefix: str) -> None:
    """Append `prefix` + value; prefix is the text before the value on its first line ("key:" or "-")."""
    if isinstance(value, Mapping) and value:
        if prefix:
            out_lines.append(prefix)
        for k, v in value.items():
            _emit_entry(k, v, indent + ("  " if prefix else ""), out_lines)
        return
    if isinstance(value, list) and value:
        if prefix:
            out_lines.append(prefix)
        item_indent = indent + ("  " if prefix else "")
        for item in value:
            _emit_item(item, item_indent, out_lines)
        return
    if isinstance(value, Mapping):
        text = "{}"
    elif isinstance(value, list):
        text = "[]"
    elif isinstance(value, str) and (block := _block_text(value, indent + "  ")) is not None:
        text = block
    else:
        text = _scalar(value)
    out_lines.append(f"{prefix} {text}" if prefix else indent + text)


def _emit_entry(key: Any, value: Any, indent: str, out_lines: list[str]) -> None:
    _emit(value, indent, out_lines, f"{indent}{_key(key)}:")


def _emit_item(item: Any, indent: str, out_lines: list[str]) -> None:
    if isinstance(item, Mapping) and item:
        first = True
        for k, v in item.items():
            start = len(out_lines)
            _emit_entry(k, v, indent + "  ", out_lines)
            if first:
                out_lines[start] = f"{indent}- " + out_lines[start][len(indent) + 2 :]
                first = False
        return
    if isinstance(item, list) and item:
        start = len(out_lines)
        for sub in item:
            _emit_item(sub, indent + "  ", out_lines)
        out_lines[start] = f"{indent}- " + out_lines[start][len(indent) + 2 :]
        return
    _emit(item, indent, out_lines, f"{indent}-")


def to_yaml(data: Mapping[str, Any]) -> str:
    out_lines: list[str] = []
    for k, v in data.items():
        _emit_entry(k, v, "", out_lines)
    return "\n".join(out_lines) + "\n"
