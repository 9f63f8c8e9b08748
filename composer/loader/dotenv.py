"""A `.env` parser with Compose's rules (python-dotenv differs on several points).

What Compose accepts and we match: `export KEY=v`, `KEY: v`, a bare `KEY` line (takes the value
from the lookup, else the key is skipped), unquoted values cut at ` #` and right-trimmed,
single quotes literal, double quotes with `\\n`-style escapes, multi-line quoted values, and
`${VAR}` interpolation (same rules as Compose files) in unquoted and double-quoted values.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from composer.errors import ConfigError, Location
from composer.loader.inputs import note
from composer.loader.interpolate import InterpolationError, Substitutor

Lookup = Callable[[str], str | None]

_SPACE = "\t\v\f\r \x85\xa0"
_ESCAPES = {"a": "\a", "b": "\b", "c": "\\c", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
_ESCAPE_RE = re.compile(r"\\(?:[abcfnrtv$\"\\]|0\d{0,3})")


def _unescape(text: str) -> str:
    def one(m: re.Match[str]) -> str:
        seq = m.group(0)
        if seq == "\\$":
            return "$$"  # kept escaped for the interpolation step
        if seq[1] == "0":
            digits = seq[2:]
            try:
                return chr(int(digits, 8)) if digits else "\0"
            except ValueError:
                return seq
        if seq[1] in _ESCAPES:
            return _ESCAPES[seq[1]]
        return seq[1]

    return _ESCAPE_RE.sub(one, text)


class _Parser:
    def __init__(self, text: str, filename: str, lookup: Lookup, out: dict[str, str]) -> None:
        self.src = text.removeprefix("\ufeff")
        self.pos = 0
        self.line = 1
        self.statement_line = 1  # where the statement being parsed starts, for error locations
        self.filename = filename
        self.lookup = lookup
        self.out = out

    def fail(self, message: str) -> ConfigError:
        return ConfigError(message, location=Location(self.filename, self.statement_line, 1))

    def _skip_blank_and_comments(self) -> bool:
        src = self.src
        while self.pos < len(src):
            c = src[self.pos]
            if c == "\n":
                self.line += 1
                self.pos += 1
            elif c.isspace():
                self.pos += 1
            elif c == "#":
                end = src.find("\n", self.pos)
                self.pos = len(src) if end < 0 else end
            else:
                return True
        return False

    def parse(self) -> dict[str, str]:
        while self._skip_blank_and_comments():
            self.statement_line = self.line
            key, inherited = self._key()
            if " " in key:
                raise self.fail("key cannot contain a space")
            if inherited:
                value = self._resolve_name(key)
                if value is not None:
                    self.out[key] = value
                continue
            self.out[key] = self._value()
        return self.out

    def _resolve_name(self, name: str) -> str | None:
        found = self.lookup(name)
        return found if found is not None else self.out.get(name)

    def _key(self) -> tuple[str, bool]:
        src = self.src
        m = re.match(r"export[" + _SPACE + r"]+", src[self.pos :])
        if m:
            self.pos += m.end()
        start = self.pos
        i = start
        while i < len(src):
            c = src[i]
            if c in _SPACE:
                i += 1
                continue
            if c in "=:\n":
                key = src[start:i].rstrip()
                self.pos = i + 1
                if c == "\n":
                    self.line += 1
                    return key, True
                while self.pos < len(src) and src[self.pos] in _SPACE:
                    self.pos += 1
                return key, False
            if not (c in "_.-[]" or c.isalnum()):
                first_line = src[start:].split("\n", 1)[0]
                raise self.fail(f'unexpected character "{c}" in variable name "{first_line}"')
            i += 1
        # last line without `=` and without a newline: the reference reads it as the value of an
        # empty key (`"": "LAST"`); we keep that quirk so both tools see the same environment
        self.pos = start
        return "", False

    def _expand(self, value: str) -> str:
        sub = Substitutor(self._resolve_name)
        try:
            return sub.substitute(value)
        except InterpolationError as exc:
            raise self.fail(str(exc)) from None

    def _value(self) -> str:
        src = self.src
        quote = src[self.pos : self.pos + 1]
        if quote not in ("'", '"'):
            end = src.find("\n", self.pos)
            raw = src[self.pos :] if end < 0 else src[self.pos : end]
            self.pos = len(src) if end < 0 else end + 1
            self.line += 1
            raw = raw.split(" #", 1)[0].rstrip()
            return self._expand(raw)
        chars: list[str] = []
        escaped = False
        i = self.pos + 1
        start_line = self.line
        while i < len(src):
            c = src[i]
            if c == "\n":
                self.line += 1
            if c != quote:
                if not escaped and c == "\\":
                    escaped = True
                elif escaped:
                    escaped = False
                    chars.append("\\" + c)
                else:
                    chars.append(c)
                i += 1
                continue
            if escaped:
                escaped = False
                chars.append(c)
                i += 1
                continue
            self.pos = i + 1
            value = "".join(chars)
            return self._expand(_unescape(value)) if quote == '"' else value
        self.line = start_line
        first = src[self.pos :].split("\n", 1)[0]
        raise self.fail(f"unterminated quoted value {first}")


def parse_dotenv(
    text: str, filename: str, lookup: Lookup | None = None, into: dict[str, str] | None = None
) -> dict[str, str]:
    """Variables of one env file, added to `into` (a new dict by default) and returned.

    `lookup` answers `${VAR}` and bare keys before the values read so far (`into`)."""
    return _Parser(text, filename, lookup or (lambda _name: None), {} if into is None else into).parse()


def read_dotenv(
    path: str, lookup: Lookup | None = None, into: dict[str, str] | None = None
) -> dict[str, str]:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        note(path, text)
    except FileNotFoundError:
        raise ConfigError(f"couldn't find env file: {path}") from None
    except IsADirectoryError:
        raise ConfigError(f"{path} is a directory") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"failed to read {path}: {exc}") from None
    return parse_dotenv(text, path, lookup, into)
