"""The Go-template subset behind `--format`, and the docker CLI's table layout.

Expected strings were printed by the reference Compose v2 binary (`ps --format ...`) over rows with the
same fields; the integration test tests/integration/commands/test_format_templates.py compares live."""

from __future__ import annotations

import pytest

from composer.cli.formatting import Columns, label_title, render, tabwrite
from composer.errors import ComposerError
from composer.gotemplate import Record, TemplateError, parse

LABELS = {"com.docker.compose.service": "web", "a": "b"}
WEB = Record(
    "*formatter.ContainerContext",
    {
        "ExitCode": 0,
        "Name": "p1-web-1",
        "Publishers": [
            Record(
                "api.PortPublisher",
                {"URL": "127.0.0.1", "TargetPort": 80, "PublishedPort": 18081, "Protocol": "tcp"},
            )
        ],
        "Service": "web",
        "State": "running",
    },
    {"Label": lambda key: LABELS.get(key, "")},
)
DB = Record(
    "*formatter.ContainerContext",
    {"ExitCode": 0, "Name": "p1-db-1", "Publishers": [], "Service": "db", "State": "running"},
    {"Label": lambda key: ""},
)
COLUMNS = Columns(
    default="{{.Name}}\t{{.State}}",
    titles={"Name": "NAME", "State": "STATE", "Service": "SERVICE"},
    methods={"Label": label_title},
)


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{.Name}}", "p1-web-1"),
        ("{{json .Publishers}}", '[{"URL":"127.0.0.1","TargetPort":80,'
         '"PublishedPort":18081,"Protocol":"tcp"}]'),
        ("{{.Publishers}}", "[{127.0.0.1 80 18081 tcp}]"),
        ("{{range .Publishers}}{{.URL}}:{{.PublishedPort}} {{end}}", "127.0.0.1:18081 "),
        ('{{if eq .Service "web"}}W{{else}}O{{end}} {{.Name}}', "W p1-web-1"),
        ('{{if eq .Service "db"}}D{{else if eq .Service "web"}}W{{else}}O{{end}}', "W"),
        ('{{.Label "com.docker.compose.service"}}|{{.Label "nope"}}', "web|"),
        ("{{.Name | upper}}", "P1-WEB-1"),
        ('{{printf "%s-%d" .Name .ExitCode}}', "p1-web-1-0"),
        ("{{ .Name -}} |x{{/* c */}}|", "p1-web-1|x|"),
        ("{{with .Publishers}}P{{else}}N{{end}}", "P"),
        ("{{range $i, $p := .Publishers}}{{$i}}={{$p.TargetPort}}{{end}}", "0=80"),
        ('{{join (split .Name "-") "+"}}', "p1+web+1"),
        ("{{title .Service}}|{{pad .Service 1 2}}|{{truncate .Name 3}}|{{len .Publishers}}",
         "Web| web  |p1-|1"),
        ("{{(index .Publishers 0).URL}}", "127.0.0.1"),
        ("{{$n := .Name}}{{$n}}{{with $x := .Service}}/{{$x}}{{end}}", "p1-web-1/web"),
        ("{{.Missing.Key}}", None),
        ("{{and .Name .Service}} {{or .Nil .Service}} {{not .Name}}", None),
        ("{{if and (gt (len .Publishers) 0) (ne .State \"exited\")}}up{{end}}", "up"),
        ("{{json .}}", '{"ExitCode":0,"Name":"p1-web-1","Publishers":[{"URL":"127.0.0.1","TargetPort":80,'
         '"PublishedPort":18081,"Protocol":"tcp"}],"Service":"web","State":"running"}'),
    ],
)  # fmt: skip
def test_render_on_a_record(template: str, expected: str | None) -> None:
    if expected is None:
        with pytest.raises(TemplateError, match="can't evaluate field"):
            parse(template).render(WEB)
        return
    assert parse(template).render(WEB) == expected


def test_maps_print_and_range_in_key_order() -> None:
    data = {"b": 2, "a": 1}
    assert parse("{{.}}").render(data) == "map[a:1 b:2]"
    assert parse("{{range $k, $v := .}}{{$k}}={{$v}};{{end}}").render(data) == "a=1;b=2;"
    assert parse("{{.c}}").render(data) == "<no value>"
    assert parse("{{range .}}x{{else}}empty{{end}}").render([]) == "empty"


def test_table_header_comes_from_the_titles_and_columns_align_as_tabwriter() -> None:
    text = render(
        'table {{.Name}}\\t{{.Label "com.docker.compose.service"}}\\t{{json .Name}}\\t{{.Name | upper}}'
        '\\t{{printf "%s-%d" .Name .ExitCode}}',
        [DB, WEB],
        COLUMNS,
    )
    assert text == (
        "NAME       service   NAME         NAME       NAME-%!d(<nil>)\n"
        'p1-db-1              "p1-db-1"    P1-DB-1    p1-db-1-0\n'
        'p1-web-1   web       "p1-web-1"   P1-WEB-1   p1-web-1-0\n'
    )
    assert render("table", [DB], COLUMNS) == "NAME      STATE\np1-db-1   running\n"
    assert render("table {{.Publishers}}", [], COLUMNS) == "<no value>\n"


def test_plain_templates_print_one_line_per_row_even_when_empty() -> None:
    assert render("{{range .Publishers}}{{.URL}}{{end}}", [DB, WEB], COLUMNS) == "\n127.0.0.1\n"
    assert render("json", [DB], COLUMNS).startswith('{"ExitCode":0,"Name":"p1-db-1"')


def test_tabwriter_column_blocks() -> None:
    # a column is sized per block of consecutive lines that have it, as Go's text/tabwriter does
    assert tabwrite("a\tb\tc\nlonger-cell\tx\nz\n") == "a             b         c\nlonger-cell   x\nz\n"
    assert tabwrite("x\ny\tz\n") == "x\ny         z\n"


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{.Name", "template parsing error: template: :1: unclosed action"),
        ("{{if .Name}}", "template parsing error: template: :1: unexpected EOF"),
        ("{{end}}", "template parsing error: template: :1: unexpected {{end}}"),
        ("{{.Foo}}", "at <.Foo>: can't evaluate field Foo in type *formatter.ContainerContext "
         "(fields: ExitCode, "),
        ("{{.Name | nope}}", 'function "nope" not defined (functions: and, or, not,'),
        ('{{define "x"}}{{end}}', "{{define}} is not supported; supported: {{.Field}}"),
        ("{{index .Publishers 3}}",
         'executing "" at <index .Publishers 3>: error calling index: index out of range'),
        ("{{.Name 1}}", "Name has arguments but cannot be invoked as function"),
        ("{{range .Name}}{{end}}", "range can't iterate over p1-web-1"),
        ("{{$x}}", 'undefined variable "$x"'),
    ],
)  # fmt: skip
def test_bad_templates_are_one_line_errors(template: str, message: str) -> None:
    with pytest.raises(ComposerError) as caught:
        render(template, [WEB], COLUMNS)
    text = caught.value.message
    assert "\n" not in text
    assert message in text
