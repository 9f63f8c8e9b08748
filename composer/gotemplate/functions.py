"""The functions templates may call: Go's builtins and the docker CLI's additions."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence

from composer._typecheck import TYPE_CHECKING
from composer.gotemplate.parse import BUILTIN_NAMES
from composer.gotemplate.values import Record, go_string, go_type, to_json, truth

if TYPE_CHECKING:
    from typing import Any


def _len(value: Any) -> int:
    if isinstance(value, Record) or value is None or isinstance(value, (int, float)):
        raise ValueError(f"len of type {go_type(value)}")
    return len(value)


def _index(value: Any, *keys: Any) -> Any:
    for key in keys:
        if isinstance(value, Mapping):
            value = value.get(key)
        elif isinstance(value, (list, tuple, str)):
            if not isinstance(key, int) or not 0 <= key < len(value):
                raise IndexError(f"index out of range: {key}")
            value = value[key]
        else:
            raise ValueError(f"can't index item of type {go_type(value)}")
    return value


def _slice(value: Any, *bounds: int) -> Any:
    if not isinstance(value, (list, tuple, str)):
        raise ValueError(f"can't slice item of type {go_type(value)}")
    if len(bounds) > 2 or any(not 0 <= b <= len(value) for b in bounds):
        raise IndexError("index out of range")
    return value[slice(*bounds)] if bounds else value


def _basic(value: Any) -> Any:
    if isinstance(value, (Record, Mapping, list, tuple)):
        raise ValueError("invalid type for comparison")
    return value


def _eq(first: Any, *others: Any) -> bool:
    if not others:
        raise ValueError("missing argument for comparison")
    a = _basic(first)
    for other in others:
        b = _basic(other)
        if a is not None and b is not None and (isinstance(a, str) != isinstance(b, str)):
            raise ValueError("incompatible types for comparison")
        if a == b:
            return True
    return False


def _order(name: str) -> Callable[[Any, Any], bool]:
    import operator

    op = {"lt": operator.lt, "le": operator.le, "gt": operator.gt, "ge": operator.ge}[name]

    def compare(a: Any, b: Any) -> bool:
        a, b = _basic(a), _basic(b)
        if a is None or b is None or isinstance(a, str) != isinstance(b, str) or isinstance(a, bool):
            raise ValueError("incompatible types for comparison")
        return bool(op(a, b))

    return compare


def _print(*args: Any) -> str:
    # fmt.Sprint: a space between operands when neither is a string
    out = []
    for i, arg in enumerate(args):
        if i and not isinstance(arg, str) and not isinstance(args[i - 1], str):
            out.append(" ")
        out.append(go_string(arg))
    return "".join(out)


_VERB = re.compile(r"%([-+# 0]*)(\d+|\*)?(?:\.(\d+))?([a-zA-Z%])")


def _printf(fmt: str, *args: Any) -> str:
    """fmt.Sprintf for the verbs templates use: %s %v %d %q %f %t %x %%, with width/precision."""
    out: list[str] = []
    pos = 0
    n = 0
    for m in _VERB.finditer(fmt):
        out.append(fmt[pos : m.start()])
        pos = m.end()
        flags, width, precision, verb = m.groups()
        if verb == "%":
            out.append("%")
            continue
        if n >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        arg = args[n]
        n += 1
        text = _verb(verb, arg, precision)
        if width and width != "*":
            fill = "0" if "0" in flags else " "
            text = text.ljust(int(width)) if "-" in flags else text.rjust(int(width), fill)
        out.append(text)
    out.append(fmt[pos:])
    if n < len(args):
        out.append("%!(EXTRA " + ", ".join(f"{go_type(a)}={go_string(a)}" for a in args[n:]) + ")")
    return "".join(out)


def _verb(verb: str, arg: Any, precision: str | None) -> str:
    wrong = f"%!{verb}({'<nil>' if arg is None else go_type(arg) + '=' + go_string(arg)})"
    if verb in ("s", "v"):
        text = go_string(arg)
        return text[: int(precision)] if precision and verb == "s" else text
    if verb == "q":
        return json.dumps(go_string(arg), ensure_ascii=False) if isinstance(arg, str) else wrong
    if verb == "t":
        return go_string(arg) if isinstance(arg, bool) else wrong
    if isinstance(arg, bool) or not isinstance(arg, (int, float)):
        return wrong
    if verb == "d":
        return str(int(arg)) if isinstance(arg, int) else wrong
    if verb == "f":
        return f"{arg:.{int(precision) if precision else 6}f}"
    if verb in ("x", "X"):
        return format(int(arg), verb) if isinstance(arg, int) else wrong
    return wrong


def _want(value: Any, kind: type | tuple[type, ...], go_name: str) -> None:
    """Go checks argument types when it calls a function: the same words when they do not fit."""
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):  # Go's bool is no int
        raise ValueError(f"wrong type for value; expected {go_name}; got {go_type(value)}")


def _split(text: str, sep: str) -> list[str]:
    _want(text, str, "string")
    _want(sep, str, "string")
    return text.split(sep) if sep else list(text)


def _join(items: Sequence[Any], sep: str) -> str:
    _want(items, (list, tuple), "[]string")
    _want(sep, str, "string")
    return sep.join(go_string(i) for i in items)


def _title(text: str) -> str:
    return re.sub(r"(^|[^\w'])(\w)", lambda m: m.group(1) + m.group(2).upper(), text)


def _pad(text: Any, before: int, after: int) -> str:
    _want(text, str, "string")
    _want(before, int, "int")
    _want(after, int, "int")
    return " " * before + go_string(text) + " " * after


def _truncate(text: Any, length: int) -> str:
    _want(text, str, "string")
    _want(length, int, "int")
    value = go_string(text)
    return value[:length] if len(value) > length else value


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "and": lambda *a: next((v for v in a if not truth(v)), a[-1]),
    "or": lambda *a: next((v for v in a if truth(v)), a[-1]),
    "not": lambda v: not truth(v),
    "len": _len,
    "index": _index,
    "slice": _slice,
    "eq": _eq,
    "ne": lambda a, b: not _eq(a, b),
    "lt": _order("lt"),
    "le": _order("le"),
    "gt": _order("gt"),
    "ge": _order("ge"),
    "print": _print,
    "printf": _printf,
    "println": lambda *a: " ".join(go_string(v) for v in a) + "\n",
    "json": to_json,
    "join": _join,
    "split": _split,
    "lower": lambda s: go_string(s).lower(),
    "upper": lambda s: go_string(s).upper(),
    "title": lambda s: _title(go_string(s)),
    "pad": _pad,
    "truncate": _truncate,
}

# The docker CLI renders a table's header by running the template over a map of column titles with
# these functions swapped for ones that return their first argument unchanged.
HEADER_FUNCTIONS: dict[str, Callable[..., Any]] = {
    **FUNCTIONS,
    **{name: (lambda v, *_: v) for name in BUILTIN_NAMES[-8:]},
}
