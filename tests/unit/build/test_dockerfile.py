"""Dockerfile parsing, variable expansion and .dockerignore matching (pure, no root)."""

from __future__ import annotations

import pytest

from engine.build import dockerfile, ignore, instructions
from engine.build.expand import expand, expand_words
from engine.errors import InvalidParameter


def test_stages_directives_continuations_comments() -> None:
    df = dockerfile.parse(
        "# escape=`\nARG V=1\nFROM busybox:$V AS Build\nRUN echo a `\n# a comment inside\n  && echo b\n"
        "FROM --platform=linux/amd64 scratch\nCOPY --from=build /a /b\n"
    )
    assert df.escape == "`"
    assert [a.rest for a in df.global_args] == ["V=1"]
    assert [(s.base, s.name, s.platform) for s in df.stages] == [
        ("busybox:$V", "build", ""),
        ("scratch", "", "linux/amd64"),
    ]
    run = df.stages[0].instructions[0]
    assert run.cmd == "RUN" and run.rest == "echo a   && echo b" and run.line == 4
    assert df.stages[1].instructions[0].flag("from") == "build"
    assert df.stage_index("BUILD") == 0 and df.stage_index("1") == 1


def test_json_and_heredoc_forms() -> None:
    df = dockerfile.parse(
        'FROM x\nCMD ["a", "b c"]\nRUN <<EOF\necho hi\n\techo $X\nEOF\nRUN cat <<-"E"\n\tz\nE\n'
    )
    cmd, run, run2 = df.stages[0].instructions
    assert cmd.json_args == ("a", "b c")
    assert run.heredocs[0].content == "echo hi\n\techo $X\n" and run.heredocs[0].expand
    assert run2.heredocs[0].content == "z\n" and not run2.heredocs[0].expand and run2.heredocs[0].chomp


@pytest.mark.parametrize(
    "text, message",
    [
        ("FROM x\nFOO bar\n", "line 2: unknown instruction: FOO"),
        ("RUN x\n", "line 1: no build stage"),
        ("FROM x\nCOPY --nope=1 a b\n", "line 2: unknown flag: --nope"),
        ("FROM a b\n", "line 1: FROM requires either one or three arguments"),
        ("FROM x\nRUN <<EOF\necho\n", "unterminated heredoc EOF"),
    ],
)
def test_parse_errors_name_the_line(text: str, message: str) -> None:
    with pytest.raises(InvalidParameter, match=message):
        dockerfile.parse(text)


def test_expansion_rules() -> None:
    env = {"A": "1", "E": "", "P": "/x"}
    assert expand("${A}-$A-${B:-d}-${E:-e}-${E-f}-${A:+y}-${B+z}", env) == "1-1-d-e--y-"
    assert expand("'$A' \"$A\" \\$A", env) == "$A 1 $A"
    assert expand_words('a "b c" ${P}/d', env) == ["a", "b c", "/x/d"]
    with pytest.raises(InvalidParameter):
        expand("${A", env)


def test_env_label_forms_and_metadata() -> None:
    df = dockerfile.parse(
        'FROM x\nENV A=1 B="two words"\nENV C ${A} and more\nLABEL "k"=v\nEXPOSE 80 53/udp\n'
        "HEALTHCHECK --interval=5s --retries=2 CMD true\nSTOPSIGNAL SIGINT\nUSER 1000:1000\nWORKDIR a\n"
        'WORKDIR b\nVOLUME /data\nSHELL ["/bin/bash", "-c"]\nENTRYPOINT echo\n'
    )
    config: dict[str, object] = {}
    for ins in df.stages[0].instructions:
        shell = list(config.get("Shell") or instructions.DEFAULT_SHELL)  # type: ignore[call-overload]
        instructions.apply(ins, config, instructions.env_dict(config), "\\", shell)
    assert config["Env"] == ["A=1", "B=two words", "C=1 and more"]
    assert config["Labels"] == {"k": "v"}
    assert config["ExposedPorts"] == {"80/tcp": {}, "53/udp": {}}
    assert config["Healthcheck"] == {"Test": ["CMD-SHELL", "true"], "Interval": 5_000_000_000, "Retries": 2}
    assert (
        config["WorkingDir"] == "/a/b" and config["User"] == "1000:1000" and config["StopSignal"] == "SIGINT"
    )
    assert config["Volumes"] == {"/data": {}}
    assert config["Entrypoint"] == ["/bin/bash", "-c", "echo"]


def test_dockerignore_with_exceptions() -> None:
    m = ignore.Matcher(ignore.parse("# c\n*.log\n!keep.log\nnode_modules\n**/tmp\n/abs/x\n"))
    assert m.ignored("a.log") and not m.ignored("keep.log") and not m.ignored("d/a.log")
    assert m.ignored("node_modules/x/y") and m.ignored("src/a/tmp/q") and m.ignored("tmp")
    assert m.ignored("abs/x") and not m.ignored("src/a.py")


def test_arg_declarations() -> None:
    ins = dockerfile.parse('FROM x\nARG a b=1 c="x y" d=${b}2\n').stages[0].instructions[0]
    assert instructions.arg_decls(ins, {"b": "1"}, "\\") == [
        ("a", None),
        ("b", "1"),
        ("c", "x y"),
        ("d", "12"),
    ]
    bad = dockerfile.parse("FROM x\nARG a-b\n").stages[0].instructions[0]
    with pytest.raises(InvalidParameter, match="invalid ARG name"):
        instructions.arg_decls(bad, {}, "\\")
