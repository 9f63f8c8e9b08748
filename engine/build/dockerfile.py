"""Dockerfile parsing: parser directives, comments, line continuations, heredocs, flags, JSON (exec) forms,
and the split into stages. Errors name the line (`Dockerfile parse error line N: ...`)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from engine.errors import InvalidParameter

_DIRECTIVE_RE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
_HEREDOC_RE = re.compile(r"<<(-?)\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\2")
_FLAG_RE = re.compile(r"^--([a-z][a-z-]*)(?:=(.*))?$")

KNOWN = {
    "FROM",
    "RUN",
    "CMD",
    "LABEL",
    "MAINTAINER",
    "EXPOSE",
    "ENV",
    "ADD",
    "COPY",
    "ENTRYPOINT",
    "VOLUME",
    "USER",
    "WORKDIR",
    "ARG",
    "ONBUILD",
    "STOPSIGNAL",
    "HEALTHCHECK",
    "SHELL",
}
_JSON_FORM = {"RUN", "CMD", "ENTRYPOINT", "SHELL", "COPY", "ADD", "VOLUME"}
_FLAGS = {
    "FROM": {"platform"},
    "RUN": {"mount", "network", "security"},
    "COPY": {"from", "chown", "chmod", "link", "parents", "exclude"},
    "ADD": {"chown", "chmod", "link", "keep-git-dir", "checksum", "exclude"},
    "HEALTHCHECK": {"interval", "timeout", "start-period", "start-interval", "retries"},
}
_HEREDOC_CMDS = {"RUN", "COPY", "ADD"}


@dataclass(frozen=True)
class Heredoc:
    """A here-document of a Dockerfile instruction (`RUN <<EOF`)."""

    name: str
    content: str
    expand: bool  # an unquoted terminator: variables in the body are expanded (by the shell for RUN)
    chomp: bool  # <<- strips leading tabs


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction as written, with its flags and line."""

    cmd: str  # upper case
    rest: str  # everything after the flags, continuation lines joined
    flags: dict[str, list[str]]
    line: int
    original: str
    json_args: tuple[str, ...] | None = None  # the exec (JSON array) form, when used
    heredocs: tuple[Heredoc, ...] = ()

    def flag(self, name: str, default: str = "") -> str:
        values = self.flags.get(name)
        return values[-1] if values else default


@dataclass(frozen=True)
class Stage:
    """A build stage: FROM's base and name, and its instructions."""

    index: int
    base: str  # FROM's image (unexpanded)
    name: str  # lower-cased AS name, "" when none
    platform: str
    line: int
    instructions: tuple[Instruction, ...] = ()


@dataclass(frozen=True)
class Dockerfile:
    """A parsed Dockerfile: parser directives, global ARGs and stages."""

    directives: dict[str, str]
    escape: str
    global_args: tuple[Instruction, ...]  # ARGs before the first FROM
    stages: tuple[Stage, ...] = field(default=())

    def stage_index(self, name_or_index: str) -> int | None:
        key = name_or_index.lower()
        for st in self.stages:
            if st.name and st.name == key:
                return st.index
        if key.isdigit() and int(key) < len(self.stages):
            return int(key)
        return None


def _error(line: int, msg: str) -> InvalidParameter:
    return InvalidParameter(f"Dockerfile parse error line {line}: {msg}")


def _directives(lines: list[str]) -> tuple[dict[str, str], int]:
    found: dict[str, str] = {}
    i = 0
    while i < len(lines):
        m = _DIRECTIVE_RE.match(lines[i])
        if not m:
            break
        key = m.group(1).lower()
        if key in found:
            raise _error(i + 1, f"only one {key} parser directive can be used")
        found[key] = m.group(2)
        i += 1
    return found, i


def _split_flags(cmd: str, rest: str, line: int) -> tuple[dict[str, list[str]], str]:
    flags: dict[str, list[str]] = {}
    allowed = _FLAGS.get(cmd, set())
    while rest.startswith("--"):
        word, _, tail = rest.partition(" ")
        m = _FLAG_RE.match(word)
        if not m:
            break
        name = m.group(1)
        if name not in allowed:
            raise _error(line, f"unknown flag: --{name}")
        flags.setdefault(name, []).append(m.group(2) if m.group(2) is not None else "true")
        rest = tail.lstrip()
    return flags, rest


def _json_args(rest: str) -> tuple[str, ...] | None:
    if not rest.startswith("["):
        return None
    try:
        value = json.loads(rest)
    except ValueError:
        return None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return None


def parse(text: str) -> Dockerfile:
    lines = text.replace("\r\n", "\n").split("\n")
    directives, i = _directives(lines)
    escape = directives.get("escape", "\\")
    if escape not in ("\\", "`"):
        raise _error(1, f"invalid escape token '{escape}' does not validate")
    instructions: list[Instruction] = []
    while i < len(lines):
        start = i
        line = lines[i]
        i += 1
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        parts = [line.rstrip()]
        # continuation lines: comments and blank lines inside are dropped, as docker does
        while parts[-1].endswith(escape) and not _heredocs_in(parts[-1][:-1]):
            parts[-1] = parts[-1][:-1]
            while i < len(lines) and (not lines[i].strip() or lines[i].lstrip().startswith("#")):
                i += 1
            if i >= len(lines):
                break
            parts.append(lines[i].rstrip())
            i += 1
        joined = "".join(parts).strip()
        word, _, rest = joined.partition(" ")
        if "\t" in word:
            word, _, more = word.partition("\t")
            rest = more + " " + rest
        cmd = word.upper()
        rest = rest.strip()
        if cmd not in KNOWN:
            raise _error(start + 1, f"unknown instruction: {word}")
        flags, rest = _split_flags(cmd, rest, start + 1)
        heredocs: list[Heredoc] = []
        if cmd in _HEREDOC_CMDS:
            for m in _HEREDOC_RE.finditer(rest):
                body: list[str] = []
                while True:
                    if i >= len(lines):
                        raise _error(start + 1, f"unterminated heredoc {m.group(3)}")
                    cur = lines[i]
                    i += 1
                    check = cur.lstrip("\t") if m.group(1) else cur
                    if check == m.group(3):
                        break
                    body.append(check if m.group(1) else cur)
                heredocs.append(
                    Heredoc(m.group(3), "\n".join(body) + "\n", expand=not m.group(2), chomp=bool(m.group(1)))
                )
        json_args = _json_args(rest) if cmd in _JSON_FORM and not heredocs else None
        if cmd not in ("CMD", "ENTRYPOINT", "HEALTHCHECK", "SHELL") and not rest and not heredocs:
            raise _error(start + 1, f"{cmd} requires at least one argument")
        instructions.append(Instruction(cmd, rest, flags, start + 1, joined, json_args, tuple(heredocs)))
    return _stages(directives, escape, instructions)


def _heredocs_in(text: str) -> bool:
    word = text.strip().split(" ", 1)[0].upper()
    return word in _HEREDOC_CMDS and bool(_HEREDOC_RE.search(text))


def _stages(directives: dict[str, str], escape: str, instructions: list[Instruction]) -> Dockerfile:
    global_args: list[Instruction] = []
    stages: list[Stage] = []
    body: list[Instruction] = []
    current: Stage | None = None
    for ins in instructions:
        if ins.cmd == "FROM":
            if current is not None:
                stages.append(
                    Stage(
                        current.index, current.base, current.name, current.platform, current.line, tuple(body)
                    )
                )
            words = ins.rest.split()
            if len(words) == 3 and words[1].lower() == "as":
                name = words[2].lower()
                if not re.match(r"^[a-z][a-z0-9_.-]*$", name):
                    raise _error(
                        ins.line,
                        f"invalid name for build stage: {words[2]!r}, name can't start "
                        "with a number or contain symbols",
                    )
            elif len(words) == 1:
                name = ""
            else:
                raise _error(ins.line, "FROM requires either one or three arguments")
            current = Stage(len(stages), words[0], name, ins.flag("platform"), ins.line)
            body = []
        elif current is None:
            if ins.cmd != "ARG":
                raise _error(ins.line, "no build stage in current context" if ins.cmd != "FROM" else "")
            global_args.append(ins)
        else:
            body.append(ins)
    if current is None:
        raise InvalidParameter(
            "the Dockerfile (Dockerfile) cannot be empty"
            if not instructions
            else "Dockerfile parse error: no FROM instruction"
        )
    stages.append(
        Stage(current.index, current.base, current.name, current.platform, current.line, tuple(body))
    )
    return Dockerfile(directives, escape, tuple(global_args), tuple(stages))
