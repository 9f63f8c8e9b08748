"""A subset of Go's text/template, enough for the docker CLI's `--format` templates.

Supported: text and `{{pipeline}}` actions with `{{-`/`-}}` trimming and `{{/* comments */}}`; fields
(`.Name`, `.A.B`, `$`, `$x.Field`), methods with arguments (`.Label "key"`), string/number/bool/nil
literals, parenthesised pipelines, `|` chaining; `if`/`else if`/`else`, `range` (with `$i, $v :=`),
`with`, `end`; variables `$x := ...`/`$x = ...`; the functions Go defines (and, or, not, len, index,
eq, ne, lt, le, gt, ge, print, printf, println, slice) and the docker CLI's (json, join, split, lower,
upper, title, pad, truncate). Anything else (`define`, `template`, `block`, `break`...) is a
TemplateError naming what is supported, never a traceback.

Values: a `Record` is a Go struct (fields in order, optional methods); dicts are Go maps; lists are
slices; None is nil (printed `<no value>`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from composer.gotemplate.execute import Executor
from composer.gotemplate.functions import FUNCTIONS, HEADER_FUNCTIONS
from composer.gotemplate.parse import SUPPORTED, Node, Parser
from composer.gotemplate.values import HeaderMap, Record, TemplateError, go_string, to_json, truth

__all__ = [
    "FUNCTIONS",
    "HEADER_FUNCTIONS",
    "SUPPORTED",
    "HeaderMap",
    "Record",
    "Template",
    "TemplateError",
    "go_string",
    "parse",
    "to_json",
    "truth",
]


@dataclass
class Template:
    source: str
    nodes: list[Node]
    parser: Parser

    def render(self, dot: Any, *, functions: Mapping[str, Callable[..., Any]] = FUNCTIONS) -> str:
        run = Executor(self.source, self.parser, functions)
        run.run(self.nodes, dot, [{"$": dot}])
        return "".join(run.out)


def parse(source: str) -> Template:
    parser = Parser(source)
    return Template(source, parser.parse(), parser)
