"""`--format` as the docker CLI reads it: `table`, `table TEMPLATE`, `json`, or a Go template.

Commands describe their rows as `gotemplate.Record`s (Compose's field names) and their column titles;
this module picks the template, renders rows, and lays tables out as Go's tabwriter does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from composer.errors import ComposerError
from composer.gotemplate import HeaderMap, Record, TemplateError, parse, to_json


@dataclass(frozen=True)
class Columns:
    """How a command's rows appear in a table: its default template and the title of each field."""

    default: str  # the template `table` stands for, e.g. "{{.Name}}\t{{.Image}}"
    titles: Mapping[str, str]
    methods: Mapping[str, Callable[..., str]] = field(default_factory=dict)


def label_title(name: str) -> str:
    """A `{{.Label "a.b.c"}}` column's title, as the docker CLI's header context gives it."""
    return name.rsplit(".", 1)[-1]


def render(fmt: str, rows: Sequence[Record], columns: Columns) -> str:
    """All rows in the requested format (text ending with a newline, or "" for no output)."""
    try:
        if fmt == "json":
            return "".join(to_json(row) + "\n" for row in rows)
        if fmt.startswith("table"):
            body = fmt[len("table") :].strip(" ") or columns.default
            return _table(_unescape(body), rows, columns)
        template = parse(_unescape(fmt.strip(" ")))
        return "".join(template.render(row) + "\n" for row in rows)
    except TemplateError as exc:
        raise ComposerError(f"template parsing error: {exc}") from None


def _unescape(text: str) -> str:
    return text.replace("\\t", "\t").replace("\\n", "\n")


def _table(body: str, rows: Sequence[Record], columns: Columns) -> str:
    from composer.gotemplate.functions import HEADER_FUNCTIONS

    template = parse(body)
    header = template.render(HeaderMap(columns.titles, columns.methods), functions=HEADER_FUNCTIONS)
    text = header + "\n" + "".join(template.render(row) + "\n" for row in rows)
    return tabwrite(text)


def tabwrite(text: str, *, minwidth: int = 10, padding: int = 3) -> str:
    """Go's text/tabwriter (padchar ' ', no flags) over tab-terminated cells: a column block is a run
    of consecutive lines that have a cell in that column, sized to its widest cell."""
    lines = [line.split("\t") for line in text.split("\n")]
    trailing = lines.pop() if lines and lines[-1] == [""] else None
    out: list[str] = []
    _format(lines, 0, len(lines), [], minwidth, padding, out)
    result = "\n".join(out)
    return result + "\n" if trailing is not None else result


def _format(
    lines: list[list[str]],
    line0: int,
    line1: int,
    widths: list[int],
    minwidth: int,
    padding: int,
    out: list[str],
) -> None:
    column = len(widths)
    this = line0
    while this < line1:
        if column >= len(lines[this]) - 1:
            this += 1
            continue
        _write(lines, line0, this, widths, out)
        line0 = this
        width = minwidth
        while this < line1 and column < len(lines[this]) - 1:
            width = max(width, len(lines[this][column]) + padding)
            this += 1
        _format(lines, line0, this, [*widths, width], minwidth, padding, out)
        line0 = this
    _write(lines, line0, line1, widths, out)


def _write(lines: list[list[str]], line0: int, line1: int, widths: list[int], out: list[str]) -> None:
    for cells in lines[line0:line1]:
        out.append(
            "".join(cell.ljust(widths[j]) if j < len(widths) else cell for j, cell in enumerate(cells))
        )
