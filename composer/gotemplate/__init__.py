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

from composer._typecheck import TYPE_CHECKING
from composer.gotemplate.values import HeaderMap, Record, TemplateError, go_string, to_json, truth

if TYPE_CHECKING:
    from composer.gotemplate.template import Template

__all__ = ["HeaderMap", "Record", "TemplateError", "go_string", "parse", "to_json", "truth"]


def parse(source: str) -> Template:
    """The template, parsed (the parser is imported only now: commands describe their rows with
    Record at import time, and `composer --help` must not pay for the rest)."""
    from composer.gotemplate.template import Template

    return Template.parse(source)
