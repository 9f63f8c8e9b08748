"""Template text -> parse tree: delimiters and trim markers, tokens, pipelines and branches."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from composer._typecheck import TYPE_CHECKING
from composer.gotemplate.values import TemplateError

if TYPE_CHECKING:
    from typing import Any

SUPPORTED = (
    '{{.Field}}, {{.Field.Sub}}, {{json .}}, {{json .Field}}, {{.Label "key"}}, pipes (|), '
    "{{if}}/{{else if}}/{{else}}/{{end}}, {{range}} (with $i, $v :=), {{with}}, $variables, "
    "functions: and, or, not, len, index, eq, ne, lt, le, gt, ge, print, printf, println, slice, "
    "json, join, split, lower, upper, title, pad, truncate"
)


_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<raw>`[^`]*`)
  | (?P<char>'(?:[^'\\\n]|\\.)+')
  | (?P<declare>:=)
  | (?P<assign>=)
  | (?P<number>[-+]?(?:0[xX][0-9a-fA-F_]+|(?:\d[\d_]*(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?))
  | (?P<field>(?:\.[A-Za-z_]\w*)+)
  | (?P<dot>\.)
  | (?P<variable>\$\w*)
  | (?P<ident>[A-Za-z_]\w*)
  | (?P<pipe>\|)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<comma>,)
    """,
    re.VERBOSE,
)


@dataclass
class Tok:
    """A lexer token."""

    kind: str
    text: str
    pos: int  # byte offset in the whole template


_OPERANDS = ("string", "raw", "char", "number", "field", "dot", "variable", "ident")


def _tokens(source: str, start: int, end: int, where: Callable[[int], str]) -> list[Tok]:
    out: list[Tok] = []
    i = start
    while i < end:
        m = _TOKEN.match(source, i, end)
        if not m:
            raise TemplateError(f"template: {where(i)}: unexpected {source[i]!r} in command")
        kind = m.lastgroup or ""
        if kind != "space":
            text = m.group()
            # `.Field` right after an operand is a field chain of that operand (`$x.Name`, `(...).Name`)
            if (
                kind == "field"
                and out
                and out[-1].kind in ("variable", "rparen")
                and out[-1].pos + len(out[-1].text) == i
            ):
                kind = "chain"
            elif (
                kind in _OPERANDS
                and out
                and out[-1].kind in _OPERANDS
                and out[-1].pos + len(out[-1].text) == i
            ):
                raise TemplateError(f"template: {where(i)}: unexpected <{text}> in operand")
            out.append(Tok(kind, text, i))
        i = m.end()
    return out


@dataclass
class Node:
    """A piece of a parsed template, at its byte offset."""

    pos: int


@dataclass
class Text(Node):
    """Literal text between actions."""

    text: str


@dataclass
class Operand(Node):
    """A value a command takes: a field, variable, literal or nested pipeline."""

    kind: str  # field, dot, variable, ident, string, number, bool, nil, pipeline
    value: Any
    chain: tuple[str, ...] = ()  # field names after a variable or a parenthesised pipeline
    text: str = ""


@dataclass
class Command(Node):
    """One command of a pipeline: a function or a value with its arguments."""

    args: list[Operand]
    text: str = ""  # the command as written, for error messages


@dataclass
class Pipeline(Node):
    """Commands joined by `|`, with the variables it declares or assigns."""

    commands: list[Command]
    declare: list[str] = field(default_factory=list)
    assign: bool = False  # `=` (set an existing variable) rather than `:=`


@dataclass
class Action(Node):
    """`{{pipeline}}`: the pipeline's value, printed."""

    pipe: Pipeline


@dataclass
class Branch(Node):
    """`{{if}}`, `{{range}}` or `{{with}}`, with its `{{else}}` part."""

    kind: str  # if, range, with
    pipe: Pipeline
    body: list[Node]
    otherwise: list[Node]


BUILTIN_NAMES = (
    *("and", "or", "not", "len", "index", "eq", "ne", "lt", "le", "gt", "ge"),
    *("print", "printf", "println", "slice"),
    *("json", "join", "split", "lower", "upper", "title", "pad", "truncate"),
)
_UNSUPPORTED = ("define", "template", "block", "break", "continue", "call", "html", "js", "urlquery")


class Parser:
    def __init__(self, source: str) -> None:
        self.source = source

    def where(self, pos: int) -> str:
        line = self.source.count("\n", 0, pos) + 1
        return f":{line}"

    def where_col(self, pos: int) -> str:
        line = self.source.count("\n", 0, pos) + 1
        col = pos - (self.source.rfind("\n", 0, pos) + 1)
        return f":{line}:{col}"

    def parse(self) -> list[Node]:
        self.items = self._split()
        self.index = 0
        nodes, closer = self._list(top=True)
        if closer is not None:
            raise TemplateError(f"template: {self.where(closer[1])}: unexpected {{{{{closer[0]}}}}}")
        return nodes

    def _split(self) -> list[tuple[str, Any, int]]:
        """The template as ("text", str, pos) and ("action", tokens, pos) items, trim markers applied."""
        src = self.source
        items: list[tuple[str, Any, int]] = []
        i = 0
        trim_next = False
        while i < len(src):
            j = src.find("{{", i)
            text = src[i:] if j < 0 else src[i:j]
            if trim_next:
                text = text.lstrip(" \t\r\n")
            if j < 0:
                items.append(("text", text, i))
                break
            left_trim = src.startswith("{{- ", j) or src.startswith("{{-\t", j) or src.startswith("{{-\n", j)
            if left_trim:
                text = text.rstrip(" \t\r\n")
            if text:
                items.append(("text", text, i))
            start = j + (3 if left_trim else 2)
            if src.startswith("/*", start) or src.startswith(" /*", start) and left_trim:
                close = src.find("*/", start)
                if close < 0:
                    raise TemplateError(f"template: {self.where(j)}: unclosed comment")
                k = close + 2
                trim_next = src.startswith(" -}}", k)
                end = src.find("}}", k)
                if end < 0 or src[k:end].strip(" -"):
                    raise TemplateError(f"template: {self.where(j)}: comment ends before closing delimiter")
                i = end + 2
                continue
            end = self._action_end(start)
            if end < 0:
                raise TemplateError(f"template: {self.where(j)}: unclosed action")
            trim_next = end >= 1 and src[end - 1] == "-" and end - 2 >= start and src[end - 2] in " \t\r\n"
            body_end = end - 1 if trim_next else end
            items.append(("action", _tokens(src, start, body_end, self.where), start))
            i = end + 2
        return items

    def _action_end(self, start: int) -> int:
        """The index of the `}}` closing the action begun at start (quotes may hold braces)."""
        src = self.source
        i = start
        while i < len(src):
            c = src[i]
            if src.startswith("}}", i):
                return i
            if c in "\"'`":
                close = i + 1
                while close < len(src) and src[close] != c:
                    close += 2 if src[close] == "\\" and c != "`" else 1
                i = close + 1
                continue
            if c == "\n" and c not in "`":
                pass
            i += 1
        return -1

    def _list(self, top: bool = False) -> tuple[list[Node], tuple[str, int, list[Tok]] | None]:
        """Nodes until `{{else ...}}`/`{{end}}` (returned as the closer) or the end of the template."""
        nodes: list[Node] = []
        while self.index < len(self.items):
            kind, value, pos = self.items[self.index]
            self.index += 1
            if kind == "text":
                nodes.append(Text(pos, value))
                continue
            toks: list[Tok] = value
            if not toks:
                raise TemplateError(f"template: {self.where(pos)}: missing value for command")
            head = toks[0]
            if head.kind == "ident" and head.text in ("end", "else"):
                if top:
                    raise TemplateError(f"template: {self.where(pos)}: unexpected {{{{{head.text}}}}}")
                return nodes, (head.text, pos, toks[1:])
            if head.kind == "ident" and head.text in ("if", "range", "with"):
                nodes.append(self._branch(head.text, toks[1:], pos))
                continue
            if head.kind == "ident" and head.text in _UNSUPPORTED:
                raise TemplateError(
                    f"template: {self.where(pos)}: {{{{{head.text}}}}} is not supported; "
                    f"supported: {SUPPORTED}"
                )
            nodes.append(Action(pos, self._pipeline(toks, pos, allow_declare=True)))
        if not top:
            raise TemplateError(f"template: {self.where(len(self.source))}: unexpected EOF")
        return nodes, None

    def _branch(self, kind: str, toks: list[Tok], pos: int) -> Branch:
        if not toks:
            raise TemplateError(f"template: {self.where(pos)}: missing value for {kind}")
        pipe = self._pipeline(toks, pos, allow_declare=True, ranging=kind == "range")
        body, closer = self._list()
        assert closer is not None
        otherwise: list[Node] = []
        if closer[0] == "else":
            rest = closer[2]
            if rest and rest[0].kind == "ident" and rest[0].text in ("if", "with") and kind != "range":
                # `{{else if x}}` is `{{else}}{{if x}}...{{end}}` sharing the outer `{{end}}`
                otherwise = [self._chained(rest[0].text, rest[1:], closer[1])]
                return Branch(pos, kind, pipe, body, otherwise)
            if rest:
                raise TemplateError(f"template: {self.where(closer[1])}: unexpected {rest[0].text!r} in else")
            otherwise, closer = self._list()
            assert closer is not None
            if closer[0] != "end":
                raise TemplateError(f"template: {self.where(closer[1])}: expected end; found {{{{else}}}}")
        if closer[2]:
            raise TemplateError(f"template: {self.where(closer[1])}: unexpected {closer[2][0].text!r} in end")
        return Branch(pos, kind, pipe, body, otherwise)

    def _chained(self, kind: str, toks: list[Tok], pos: int) -> Branch:
        pipe = self._pipeline(toks, pos, allow_declare=True)
        body, closer = self._list()
        assert closer is not None
        otherwise: list[Node] = []
        if closer[0] == "else":
            rest = closer[2]
            if rest and rest[0].kind == "ident" and rest[0].text in ("if", "with"):
                return Branch(pos, kind, pipe, body, [self._chained(rest[0].text, rest[1:], closer[1])])
            otherwise, closer = self._list()
            assert closer is not None
            if closer[0] != "end":
                raise TemplateError(f"template: {self.where(closer[1])}: expected end; found {{{{else}}}}")
        return Branch(pos, kind, pipe, body, otherwise)

    def _pipeline(self, toks: list[Tok], pos: int, *, allow_declare: bool, ranging: bool = False) -> Pipeline:
        declare: list[str] = []
        assign = False
        if allow_declare and toks and toks[0].kind == "variable":
            # `$x :=`, `$x =`, and in range `$i, $v :=`
            if len(toks) > 1 and toks[1].kind in ("declare", "assign"):
                declare, assign, toks = [toks[0].text], toks[1].kind == "assign", toks[2:]
            elif (
                ranging
                and len(toks) > 3
                and toks[1].kind == "comma"
                and toks[2].kind == "variable"
                and toks[3].kind == "declare"
            ):
                declare, toks = [toks[0].text, toks[2].text], toks[4:]
        commands: list[Command] = []
        current: list[Operand] = []
        end = pos
        i = 0
        while i < len(toks):
            tok = toks[i]
            if tok.kind == "pipe":
                if not current:
                    raise TemplateError(f"template: {self.where(tok.pos)}: missing command before '|'")
                commands.append(Command(current[0].pos, current, self.source[current[0].pos : end].strip()))
                current = []
                i += 1
                continue
            operand, i = self._operand(toks, i)
            current.append(operand)
            end = toks[i - 1].pos + len(toks[i - 1].text)
        if not current:
            raise TemplateError(f"template: {self.where(pos)}: missing value for command")
        commands.append(Command(current[0].pos, current, self.source[current[0].pos : end].strip()))
        for command in commands:
            if command.args[0].kind == "nil":
                raise TemplateError(f"template: {self.where(command.pos)}: nil is not a command")
        return Pipeline(pos, commands, declare, assign)

    def _operand(self, toks: list[Tok], i: int) -> tuple[Operand, int]:
        tok = toks[i]
        kind = tok.kind
        if kind == "lparen":
            depth, j = 1, i + 1
            while j < len(toks) and depth:
                depth += {"lparen": 1, "rparen": -1}.get(toks[j].kind, 0)
                j += 1
            if depth:
                raise TemplateError(f"template: {self.where(tok.pos)}: unclosed left paren")
            inner = self._pipeline(toks[i + 1 : j - 1], tok.pos, allow_declare=False)
            chain: tuple[str, ...] = ()
            if j < len(toks) and toks[j].kind == "chain":
                chain = tuple(toks[j].text.split(".")[1:])
                j += 1
            return Operand(tok.pos, "pipeline", inner, chain, self.source[tok.pos : toks[j - 1].pos + 1]), j
        if kind == "variable":
            chain = ()
            j = i + 1
            if j < len(toks) and toks[j].kind == "chain":
                chain = tuple(toks[j].text.split(".")[1:])
                j += 1
            return Operand(
                tok.pos, "variable", tok.text, chain, tok.text + "".join("." + c for c in chain)
            ), j
        if kind == "field":
            return Operand(tok.pos, "field", tuple(tok.text.split(".")[1:]), (), tok.text), i + 1
        if kind == "dot":
            return Operand(tok.pos, "dot", None, (), "."), i + 1
        if kind in ("string", "char"):
            try:
                value = json.loads(tok.text) if kind == "string" else json.loads('"' + tok.text[1:-1] + '"')
            except ValueError:
                raise TemplateError(
                    f"template: {self.where(tok.pos)}: bad quoted string {tok.text}"
                ) from None
            return Operand(tok.pos, "string", value, (), tok.text), i + 1
        if kind == "raw":
            return Operand(tok.pos, "string", tok.text[1:-1], (), tok.text), i + 1
        if kind == "number":
            text = tok.text.replace("_", "")
            number: int | float
            try:
                number = int(text, 0)
            except ValueError:
                number = float(text)
            return Operand(tok.pos, "number", number, (), tok.text), i + 1
        if kind == "ident":
            if tok.text in ("true", "false"):
                return Operand(tok.pos, "bool", tok.text == "true", (), tok.text), i + 1
            if tok.text == "nil":
                return Operand(tok.pos, "nil", None, (), tok.text), i + 1
            if tok.text in _UNSUPPORTED:
                raise TemplateError(
                    f"template: {self.where(tok.pos)}: function {tok.text!r} is not supported; "
                    f"supported: {SUPPORTED}"
                )
            if tok.text not in BUILTIN_NAMES:
                raise TemplateError(
                    f'template: {self.where(tok.pos)}: function "{tok.text}" not defined '
                    f"(functions: {', '.join(BUILTIN_NAMES)})"
                )
            return Operand(tok.pos, "ident", tok.text, (), tok.text), i + 1
        raise TemplateError(f"template: {self.where(tok.pos)}: unexpected {tok.text!r} in command")
