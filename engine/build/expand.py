"""Dockerfile variable expansion and word splitting, as the Dockerfile reference documents them.

`$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:+alt}`, `${VAR+alt}`; single quotes are
literal, double quotes group and still expand; the escape character (`\\` or `` ` ``) escapes the next one.
"""

from __future__ import annotations

from collections.abc import Mapping

from engine.errors import InvalidParameter


class _Scanner:
    def __init__(self, text: str, env: Mapping[str, str], escape: str) -> None:
        self.text, self.env, self.escape, self.pos = text, env, escape, 0

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def next(self) -> str:
        ch = self.peek()
        self.pos += 1
        return ch

    def words(self, split: bool) -> list[str]:
        out: list[str] = []
        cur: list[str] = []
        started = False
        while self.pos < len(self.text):
            ch = self.next()
            if split and ch in " \t\n":
                if started:
                    out.append("".join(cur))
                    cur, started = [], False
                continue
            started = True
            if ch == self.escape:
                nxt = self.next()
                cur.append(nxt)
            elif ch == "'":
                cur.append(self._until("'"))
            elif ch == '"':
                cur.append(self._double())
            elif ch == "$":
                cur.append(self._var())
            else:
                cur.append(ch)
        if started:
            out.append("".join(cur))
        return out

    def _until(self, end: str) -> str:
        start = self.pos
        idx = self.text.find(end, start)
        if idx < 0:
            raise InvalidParameter(f"unexpected end of statement while looking for matching {end}")
        self.pos = idx + 1
        return self.text[start:idx]

    def _double(self) -> str:
        out: list[str] = []
        while True:
            ch = self.next()
            if ch == "":
                raise InvalidParameter('unexpected end of statement while looking for matching "')
            if ch == '"':
                return "".join(out)
            if ch == self.escape and self.peek() in ('"', "$", self.escape):
                out.append(self.next())
            elif ch == "$":
                out.append(self._var())
            else:
                out.append(ch)

    def _name(self) -> str:
        start = self.pos
        while self.peek() and (self.peek().isalnum() or self.peek() == "_"):
            self.pos += 1
        return self.text[start : self.pos]

    def _var(self) -> str:
        if self.peek() == "{":
            self.pos += 1
            name = self._name()
            if not name:
                raise InvalidParameter(f"bad substitution in {self.text!r}")
            if self.peek() == "}":
                self.pos += 1
                return self.env.get(name, "")
            op = self.next()
            if op == ":":
                op += self.next()
            if op not in (":-", ":+", "-", "+"):
                raise InvalidParameter(f"unsupported modifier ({op}) in substitution: {self.text!r}")
            word = self._braced_word()
            value = self.env.get(name)
            if op == ":-":
                return value if value else word
            if op == "-":
                return value if value is not None else word
            if op == ":+":
                return word if value else ""
            return word if value is not None else ""
        name = self._name()
        if not name:
            return "$"
        return self.env.get(name, "")

    def _braced_word(self) -> str:
        out: list[str] = []
        while True:
            ch = self.next()
            if ch == "":
                raise InvalidParameter(f"missing '}}' in {self.text!r}")
            if ch == "}":
                return "".join(out)
            if ch == self.escape:
                out.append(self.next())
            elif ch == "$":
                out.append(self._var())
            elif ch == "'":
                out.append(self._until("'"))
            elif ch == '"':
                out.append(self._double())
            else:
                out.append(ch)


def expand(text: str, env: Mapping[str, str], escape: str = "\\") -> str:
    """One word: quotes removed, variables substituted, whitespace kept."""
    return "".join(_Scanner(text, env, escape).words(split=False))


def expand_words(text: str, env: Mapping[str, str], escape: str = "\\") -> list[str]:
    """Whitespace-separated words (quotes group), each expanded."""
    return _Scanner(text, env, escape).words(split=True)


def split_raw(text: str, escape: str = "\\") -> list[str]:
    """Whitespace-separated words with quotes and escapes kept verbatim (for KEY=VALUE lists)."""
    out: list[str] = []
    cur: list[str] = []
    quote = ""
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == escape and quote != "'" and i + 1 < len(text):
            cur.append(ch + text[i + 1])
            i += 2
            continue
        if quote:
            if ch == quote:
                quote = ""
            cur.append(ch)
        elif ch in "'\"":
            quote = ch
            cur.append(ch)
        elif ch in " \t\n":
            if cur:
                out.append("".join(cur))
                cur = []
        else:
            cur.append(ch)
        i += 1
    if quote:
        raise InvalidParameter(f"unexpected end of statement while looking for matching {quote}")
    if cur:
        out.append("".join(cur))
    return out
