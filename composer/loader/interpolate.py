"""`${VAR}` interpolation of Compose values, with the reference's exact rules.

Only string values are interpolated, never keys. After substitution, a fixed set of paths is cast
from string to bool/int/float (as compose-go's interpolation type-cast table does), so
`privileged: "${PRIV}"` validates as a boolean.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

from composer.errors import ConfigError, Location
from composer.loader.pathtable import PathTable
from composer.loader.yamlsrc import KeyPath, Marks, Override, path_str

log = logging.getLogger(__name__)

_NAME = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*")
# `${name}` or `${name<op>arg}`; greedy to the last `}` on the line, like the reference's pattern
_BRACED = re.compile(r"\$\{([_a-zA-Z][_a-zA-Z0-9]*)(?:(:?[-+?])(.*))?\}")


class InterpolationError(Exception):
    """A template problem; `interpolate` adds the key path and location."""


class InvalidTemplate(InterpolationError):
    def __init__(self, template: str) -> None:
        super().__init__(
            f'invalid interpolation format "{template}": you may need to escape any $ with another $'
        )


class MissingRequired(InterpolationError):
    def __init__(self, name: str, reason: str) -> None:
        text = f"required variable {name} is missing a value"
        super().__init__(f"{text}: {reason}" if reason else text)


def _closing_brace(text: str, start: int) -> int:
    """Index of the `}` closing the `${` at `start`, counting nested `{`; -1 if unbalanced."""
    depth = 0
    i = start
    while i < len(text):
        c = text[i]
        if c == "}":
            depth -= 1
            if depth == 0:
                return i
        if c == "{":
            depth += 1
            i += 1  # the reference skips the character after every `{`
        i += 1
    return -1


class Substitutor:
    """Substitutes one template string; remembers unset variables for the caller's warnings."""

    def __init__(self, lookup: Callable[[str], str | None]) -> None:
        self.lookup = lookup
        self.unset: list[str] = []

    def _value(self, name: str) -> str:
        value = self.lookup(name)
        if value is None:
            if name not in self.unset:
                self.unset.append(name)
            return ""
        return value

    def substitute(self, template: str) -> str:
        out: list[str] = []
        i = 0
        n = len(template)
        while i < n:
            j = template.find("$", i)
            if j < 0:
                out.append(template[i:])
                break
            out.append(template[i:j])
            nxt = template[j + 1 : j + 2]
            if nxt == "$":
                out.append("$")
                i = j + 2
            elif nxt == "{":
                text, i = self._braced(template, j)
                out.append(text)
            elif nxt and _NAME.match(nxt):
                m = _NAME.match(template, j + 1)
                assert m is not None
                out.append(self._value(m.group(0)))
                i = m.end()
            else:
                out.append("$")
                i = j + 1
        return "".join(out)

    def _braced(self, template: str, start: int) -> tuple[str, int]:
        """Expand the `${...}` at `start`; returns the text and the index after it."""
        greedy = _BRACED.match(template, start)
        if greedy is None:
            raise InvalidTemplate(template)
        close = _closing_brace(template, start)
        m = _BRACED.fullmatch(template, start, close + 1) if close >= 0 else greedy
        if m is None:
            raise InvalidTemplate(template)
        name, op, arg = m.group(1), m.group(2), m.group(3) or ""
        return self._apply(name, op, arg), m.end()

    def _apply(self, name: str, op: str | None, arg: str) -> str:
        if op is None:
            return self._value(name)
        # Compose v2.40 expands the default/alternative/message even when it is not used, so
        # `${A:-${B:?x}}` fails while A is set; we keep that behaviour
        expanded = self.substitute(arg)
        value = self.lookup(name)
        empty_counts = op.startswith(":")
        missing = value is None or (empty_counts and value == "")
        kind = op[-1]
        if kind == "-":
            return expanded if missing else (value or "")
        if kind == "+":
            return (value or "") if missing else expanded
        if missing:  # `?` and `:?`
            raise MissingRequired(name, expanded)
        return value or ""


def substitute(template: str, environ: Mapping[str, str]) -> str:
    """Interpolate one string against `environ` (unset variables become "")."""
    return Substitutor(environ.get).substitute(template)


# --- type casts after interpolation (path patterns; "*" matches any key or index) ---


def _to_int(value: str) -> int:
    if not re.fullmatch(r"[+-]?[0-9]+", value):
        raise ValueError(f'parsing "{value}": invalid syntax')
    return int(value)


def _to_float(value: str) -> float:
    if not re.fullmatch(r"[+-]?(inf|infinity|nan|(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)", value, re.I):
        raise ValueError(f'parsing "{value}": invalid syntax')
    return float(value)


class _BoolCast:
    def __init__(self, warnings: list[str]) -> None:
        self.warnings = warnings

    def __call__(self, value: str) -> bool:
        lowered = value.lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        if lowered in ("y", "yes", "on", "n", "no", "off"):
            result = lowered in ("y", "yes", "on")
            self.warnings.append(
                f'"{value}" for boolean is not supported by YAML 1.2, please use `{str(result).lower()}`'
            )
            return result
        raise ValueError(f"invalid boolean: {value}")


_S = ("services", "*")
_CASTS: dict[tuple[str, ...], str] = {
    (*_S, "cpu_count"): "int",
    (*_S, "cpu_percent"): "float",
    (*_S, "cpu_period"): "int",
    (*_S, "cpu_quota"): "int",
    (*_S, "cpu_rt_period"): "int",
    (*_S, "cpu_rt_runtime"): "int",
    (*_S, "cpus"): "float",
    (*_S, "cpu_shares"): "int",
    (*_S, "init"): "bool",
    (*_S, "depends_on", "*", "required"): "bool",
    (*_S, "depends_on", "*", "restart"): "bool",
    (*_S, "deploy", "replicas"): "int",
    (*_S, "deploy", "update_config", "parallelism"): "int",
    (*_S, "deploy", "update_config", "max_failure_ratio"): "float",
    (*_S, "deploy", "rollback_config", "parallelism"): "int",
    (*_S, "deploy", "rollback_config", "max_failure_ratio"): "float",
    (*_S, "deploy", "restart_policy", "max_attempts"): "int",
    (*_S, "deploy", "placement", "max_replicas_per_node"): "int",
    (*_S, "healthcheck", "retries"): "int",
    (*_S, "healthcheck", "disable"): "bool",
    (*_S, "oom_kill_disable"): "bool",
    (*_S, "oom_score_adj"): "int",
    (*_S, "pids_limit"): "int",
    (*_S, "ports", "*", "target"): "int",
    (*_S, "privileged"): "bool",
    (*_S, "read_only"): "bool",
    (*_S, "scale"): "int",
    (*_S, "stdin_open"): "bool",
    (*_S, "tty"): "bool",
    (*_S, "ulimits", "*"): "int",
    (*_S, "ulimits", "*", "hard"): "int",
    (*_S, "ulimits", "*", "soft"): "int",
    (*_S, "volumes", "*", "read_only"): "bool",
    (*_S, "volumes", "*", "volume", "nocopy"): "bool",
    ("networks", "*", "external"): "bool",
    ("networks", "*", "internal"): "bool",
    ("networks", "*", "attachable"): "bool",
    ("networks", "*", "enable_ipv4"): "bool",
    ("networks", "*", "enable_ipv6"): "bool",
    ("volumes", "*", "external"): "bool",
    ("secrets", "*", "external"): "bool",
    ("configs", "*", "external"): "bool",
}


_CAST_TABLE: PathTable[str] = PathTable(_CASTS.items())


def _cast_kind(path: KeyPath) -> str | None:
    return _CAST_TABLE.get(path)


class Interpolator:
    """Walks a parsed document, substituting every string value; collects warnings."""

    def __init__(self, environ: Mapping[str, str], marks: Marks) -> None:
        self.environ = environ
        self.marks = marks
        self.warnings: list[str] = []
        self._casts: dict[str, Callable[[str], Any]] = {
            "int": _to_int,
            "float": _to_float,
            "bool": _BoolCast(self.warnings),
        }

    def _error(self, message: str, path: KeyPath) -> ConfigError:
        location: Location | None = self.marks.get(path)
        return ConfigError(message, location=location, key_path=path_str(path) or None)

    def walk(self, value: Any, path: KeyPath) -> Any:
        if isinstance(value, Override):
            return Override(self.walk(value.value, path))
        if isinstance(value, dict):
            return {k: self.walk(v, (*path, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [self.walk(v, (*path, i)) for i, v in enumerate(value)]
        if not isinstance(value, str):
            return value
        result = self._substitute(value, path) if "$" in value else value  # no `$`: nothing to do
        kind = _cast_kind(path)
        if kind is None:
            return result
        try:
            return self._casts[kind](result)
        except ValueError as exc:
            raise self._error(f"failed to cast to expected type: {exc}", path) from None

    def _substitute(self, value: str, path: KeyPath) -> str:
        sub = Substitutor(self.environ.get)
        try:
            result = sub.substitute(value)
        except InterpolationError as exc:
            raise self._error(str(exc), path) from None
        for name in sub.unset:
            warning = f'The "{name}" variable is not set. Defaulting to a blank string.'
            if warning not in self.warnings:
                self.warnings.append(warning)
        return result


def interpolate(
    data: dict[str, Any], environ: Mapping[str, str], marks: Marks, warnings: list[str] | None = None
) -> dict[str, Any]:
    """A new document with every string value interpolated; appends warnings to `warnings`."""
    interp = Interpolator(environ, marks)
    result = interp.walk(data, ())
    if warnings is not None:
        warnings.extend(w for w in interp.warnings if w not in warnings)
    return result  # type: ignore[no-any-return]
