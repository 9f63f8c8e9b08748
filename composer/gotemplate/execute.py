"""Walking a parse tree over data: fields, methods, variables, pipelines, if/range/with."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from composer._typecheck import TYPE_CHECKING
from composer.gotemplate.parse import Action, Branch, Command, Node, Operand, Parser, Pipeline, Text
from composer.gotemplate.values import Record, TemplateError, go_string, go_type, truth

if TYPE_CHECKING:
    from typing import Any


class Executor:
    def __init__(self, source: str, parser: Parser, functions: Mapping[str, Callable[..., Any]]) -> None:
        self.source = source
        self.parser = parser
        self.functions = functions
        self.out: list[str] = []

    def fail(self, node: Node, text: str, message: str) -> TemplateError:
        return TemplateError(
            f'template: {self.parser.where_col(node.pos)}: executing "" at <{text}>: {message}'
        )

    def run(self, nodes: list[Node], dot: Any, scope: list[dict[str, Any]]) -> None:
        for node in nodes:
            if isinstance(node, Text):
                self.out.append(node.text)
            elif isinstance(node, Action):
                value = self.pipeline(node.pipe, dot, scope)
                if not node.pipe.declare:
                    self.out.append("<no value>" if value is None else go_string(value))
            elif isinstance(node, Branch):
                self.branch(node, dot, scope)

    def branch(self, node: Branch, dot: Any, scope: list[dict[str, Any]]) -> None:
        inner = [*scope, {}]
        if node.kind == "range":
            value = self.pipeline(node.pipe, dot, inner, declare=False)
            if isinstance(value, Mapping):
                pairs = [(k, value[k]) for k in sorted(value)]
            elif isinstance(value, (list, tuple)):
                pairs = list(enumerate(value))
            elif isinstance(value, int) and not isinstance(value, bool):
                pairs = [(i, i) for i in range(value)]
            elif value is None:
                pairs = []
            else:
                raise self.fail(node, "range", f"range can't iterate over {go_string(value)}")
            for key, item in pairs:
                names = node.pipe.declare
                if len(names) == 1:
                    inner[-1][names[0]] = item
                elif len(names) == 2:
                    inner[-1][names[0]], inner[-1][names[1]] = key, item
                self.run(node.body, item, inner)
            if not pairs:
                self.run(node.otherwise, dot, inner)
            return
        value = self.pipeline(node.pipe, dot, inner)
        if truth(value):
            self.run(node.body, value if node.kind == "with" else dot, inner)
        else:
            self.run(node.otherwise, dot, inner)

    def pipeline(self, pipe: Pipeline, dot: Any, scope: list[dict[str, Any]], declare: bool = True) -> Any:
        value: Any = None
        for n, command in enumerate(pipe.commands):
            value = self.command(command, dot, scope, (value,) if n else ())
        if declare and pipe.declare:
            name = pipe.declare[0]
            if pipe.assign:
                for frame in reversed(scope):
                    if name in frame:
                        frame[name] = value
                        break
                else:
                    raise self.fail(pipe, name, f"undefined variable: {name}")
            else:
                scope[-1][name] = value
        return value

    def command(self, command: Command, dot: Any, scope: list[dict[str, Any]], final: tuple[Any, ...]) -> Any:
        head, rest = command.args[0], command.args[1:]
        if head.kind == "ident":
            args = [self.operand(a, dot, scope) for a in rest] + list(final)
            try:
                return self.functions[head.value](*args)
            except TemplateError:
                raise
            except (TypeError, ValueError, IndexError, KeyError) as exc:
                raise self.fail(head, command.text, f"error calling {head.value}: {_reason(exc)}") from None
        if head.kind == "field" or (head.kind in ("variable", "pipeline") and head.chain):
            base = (
                dot
                if head.kind == "field"
                else self.variable(head, scope)
                if head.kind == "variable"
                else self.pipeline(head.value, dot, scope)
            )
            names = head.value if head.kind == "field" else head.chain
            args = [self.operand(a, dot, scope) for a in rest] + list(final)
            return self.fields(head, base, names, args)
        if rest or final:
            raise self.fail(head, head.text, f"can't give argument to non-function {head.text}")
        return self.operand(head, dot, scope)

    def operand(self, op: Operand, dot: Any, scope: list[dict[str, Any]]) -> Any:
        if op.kind == "dot":
            return dot
        if op.kind == "field":
            return self.fields(op, dot, op.value, [])
        if op.kind == "variable":
            base = self.variable(op, scope)
            return self.fields(op, base, op.chain, []) if op.chain else base
        if op.kind == "pipeline":
            base = self.pipeline(op.value, dot, scope)
            return self.fields(op, base, op.chain, []) if op.chain else base
        if op.kind == "ident":
            return self.functions[op.value]()
        return op.value

    def variable(self, op: Operand, scope: list[dict[str, Any]]) -> Any:
        for frame in reversed(scope):
            if op.value in frame:
                return frame[op.value]
        raise TemplateError(f'template: {self.parser.where(op.pos)}: undefined variable "{op.value}"')

    def fields(self, op: Operand, value: Any, names: Sequence[str], args: list[Any]) -> Any:
        for n, name in enumerate(names):
            last = n == len(names) - 1
            if isinstance(value, Record):
                if name in value.methods:
                    call_args = args if last else []
                    try:
                        value = value.methods[name](*call_args)
                    except TypeError:
                        raise self.fail(
                            op, op.text, f"wrong number of args for {name}: got {len(call_args)}"
                        ) from None
                    continue
                if name in value.fields:
                    if last and args:
                        raise self.fail(
                            op, op.text, f"{name} has arguments but cannot be invoked as function"
                        )
                    value = value.fields[name]
                    continue
                raise self.fail(
                    op,
                    op.text,
                    f"can't evaluate field {name} in type {value.type_name} "
                    f"(fields: {', '.join(value.names())})",
                )
            if isinstance(value, Mapping):
                methods = getattr(value, "methods", {})
                if name in methods:
                    value = methods[name](*(args if last else []))
                    continue
                if last and args:
                    raise self.fail(op, op.text, f"{name} is not a method but has arguments")
                value = value.get(name)
                continue
            if value is None:
                raise self.fail(op, op.text, f"nil pointer evaluating {op.text}")
            raise self.fail(op, op.text, f"can't evaluate field {name} in type {go_type(value)}")
        return value


def _reason(exc: BaseException) -> str:
    return str(exc.args[0]) if exc.args else type(exc).__name__
