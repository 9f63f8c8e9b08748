"""A parsed template, ready to render over data."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from composer._typecheck import TYPE_CHECKING
from composer.gotemplate.execute import Executor
from composer.gotemplate.functions import FUNCTIONS
from composer.gotemplate.parse import Node, Parser

if TYPE_CHECKING:
    from typing import Any


@dataclass
class Template:
    """A parsed template, ready to render records."""

    source: str
    nodes: list[Node]
    parser: Parser

    @classmethod
    def parse(cls, source: str) -> Template:
        parser = Parser(source)
        return cls(source, parser.parse(), parser)

    def render(self, dot: Any, *, functions: Mapping[str, Callable[..., Any]] = FUNCTIONS) -> str:
        run = Executor(self.source, self.parser, functions)
        run.run(self.nodes, dot, [{"$": dot}])
        return "".join(run.out)
