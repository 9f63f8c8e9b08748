"""Shell completion: the candidates for the word being typed, and the bash/zsh/fish scripts that ask for them.

The scripts stay thin: on TAB they run the hidden `composer __complete WORD... CURRENT` (the words typed
after `composer`, the last one being the word under the cursor, maybe empty) and offer what it prints, one
candidate per line. The knowledge lives here, read from the same docopt usages the commands parse: global
flags, command names, each command's flags and literal sub-commands (`engine start`), and the project's
service names where a usage takes SERVICE (the project is loaded with the -f/-p/--project-directory/
--env-file/--profile flags typed so far). Anything that goes wrong completes nothing.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

_OPTION_LINE = re.compile(r"^\s+(-\w)?(?:,\s*)?(--[\w-]+)?(?:[ =]([A-Z][A-Z_]*))?(?:\s{2,}|$)")


_VALUES = re.compile(r"(?::|Values:)\s*\[?([a-z][\w-]*(?:(?:,\s*|\s+or\s+|\s*\|\s*)[a-z][\w-]*)+)")


@dataclass(frozen=True)
class Option:
    names: tuple[str, ...]
    takes_value: bool
    values: tuple[str, ...] = ()  # the choices its description lists ("auto, tty, plain", "table or json")


def options_of(doc: str) -> list[Option]:
    """The options listed in a docopt usage's `Options:` section."""
    found: list[Option] = []
    section = doc.split("Options:", 1)[1] if "Options:" in doc else ""
    for line in section.splitlines():
        if not line.strip():
            if found:
                break
            continue
        match = _OPTION_LINE.match(line)
        if match and (match.group(1) or match.group(2)):
            names = tuple(n for n in (match.group(1), match.group(2)) if n)
            listed = _VALUES.search(line[match.end() :]) if match.group(3) else None
            values = tuple(re.split(r",\s*|\s+or\s+|\s*\|\s*", listed.group(1))) if listed else ()
            found.append(Option(names, bool(match.group(3)), values))
    return found


def _usage_lines(doc: str) -> list[list[str]]:
    """Each usage pattern's words after the command name."""
    body = doc.split("Usage:", 1)[1].split("\n\n", 1)[0] if "Usage:" in doc else ""
    return [line.split()[1:] for line in body.strip().splitlines() if line.split()]


@dataclass(frozen=True)
class CommandShape:
    options: list[Option]
    subcommands: list[str]  # literal first words: engine start|stop|..., completion bash|zsh|fish
    services: str  # "many" (SERVICE...), "first" (one SERVICE first), or ""


def shape_of(doc: str) -> CommandShape:
    lines = _usage_lines(doc)
    subcommands: list[str] = []
    for words in lines:
        for word in words:  # the literal words before any option or placeholder, e.g. (bash|zsh|fish)
            if word.startswith(("-", "[")) or word.isupper():
                break
            subcommands += [w for w in word.strip("()").split("|") if w.islower()]
            break
    text = " ".join(" ".join(words) for words in lines)
    single = re.search(r"(?<![=:])\bSERVICE\b(?![:=])", text)  # not SERVICE=NUM, not SERVICE:PATH
    services = "many" if "SERVICE..." in text else "first" if single else ""
    options = options_of(doc)
    for words in lines:  # options written only in the usage line (`engine logs [-f] [--tail N]`)
        for i, word in enumerate(words):
            name = word.strip("[]()").split("=")[0]
            if name.startswith("-") and not any(name in o.names for o in options):
                follows = words[i + 1].rstrip("]") if i + 1 < len(words) else ""
                options.append(Option((name,), follows.isupper() and not word.endswith("]")))
    return CommandShape(options, subcommands, services)


def _find(options: Sequence[Option], word: str) -> Option | None:
    name = word.split("=", 1)[0]
    return next((o for o in options if name in o.names), None)


def _flag_names(options: Sequence[Option]) -> list[str]:
    return [name for o in options for name in o.names if name.startswith("--")] or [
        name for o in options for name in o.names
    ]


def complete(words: Sequence[str], environ: Mapping[str, str]) -> list[str]:
    from composer.cli import commands
    from composer.cli.usage import _usage

    *typed, current = list(words) or [""]
    global_doc = _usage()
    global_options = options_of(global_doc)
    globals_seen: list[str] = []
    i = 0
    while i < len(typed) and typed[i].startswith("-"):
        option = _find(global_options, typed[i])
        takes = option is not None and option.takes_value and "=" not in typed[i]
        globals_seen += typed[i : i + 2] if takes else typed[i : i + 1]
        i += 2 if takes else 1
    if i > len(typed):  # the current word is a global option's value: its choices, or the shell's own
        option = _find(global_options, typed[-1])
        return _matching(option.values, current) if option is not None else []
    if i == len(typed):
        if current.startswith("-"):
            return _matching(_flag_names(global_options), current)
        return _matching(commands.names(), current)
    module = commands.load(typed[i])
    if module is None:
        return []
    shape = shape_of(module.__doc__ or "")
    rest = typed[i + 1 :]
    if rest:
        option = _find(shape.options, rest[-1])
        if rest[-1].startswith("-") and option is not None and option.takes_value and "=" not in rest[-1]:
            return _matching(option.values, current)  # its choices, or none: the shell's own (files)
    if current.startswith("-"):
        return _matching(_flag_names(shape.options), current)
    positional = [w for j, w in enumerate(rest) if not w.startswith("-") and not _is_value(shape, rest, j)]
    if shape.subcommands:
        return _matching(shape.subcommands, current) if not positional else []
    if shape.services == "many" or (shape.services == "first" and not positional):
        return _matching(_services(globals_seen, global_doc, environ), current)
    return []


def _is_value(shape: CommandShape, rest: Sequence[str], j: int) -> bool:
    if j == 0:
        return False
    before = rest[j - 1]
    option = _find(shape.options, before)
    return before.startswith("-") and option is not None and option.takes_value and "=" not in before


def _matching(candidates: Sequence[str], prefix: str) -> list[str]:
    return [c for c in candidates if c.startswith(prefix)]


def _services(globals_seen: list[str], global_doc: str, environ: Mapping[str, str]) -> list[str]:
    from docopt import docopt

    from composer.cli.options import global_options
    from composer.session import load

    parsed = docopt(global_doc, [*globals_seen, "ps"], default_help=False, options_first=True)
    loaded = load(global_options(parsed, environ))
    return sorted(loaded.project.services)


def main(words: Sequence[str], environ: Mapping[str, str]) -> int:
    """`composer __complete ...`: candidates on stdout, nothing at all when something fails."""
    import contextlib
    import io

    try:
        with contextlib.redirect_stderr(io.StringIO()):  # a project's warnings must not reach the prompt
            found = complete(words, environ)
    except (Exception, SystemExit):
        return 0
    sys.stdout.write("".join(f"{c}\n" for c in found))
    return 0


def script(shell: str) -> str:
    return SCRIPTS[shell]


SCRIPTS: dict[str, str] = {
    "bash": """\
# bash completion for composer; load it with: source <(composer completion bash)
_composer() {
    local IFS=$'\\n'
    local cur="${COMP_WORDS[COMP_CWORD]}"
    COMPREPLY=($(compgen -W "$(composer __complete "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null)" -- "$cur"))
}
complete -o default -F _composer composer
""",
    "zsh": """\
#compdef composer
# zsh completion for composer; load it (after compinit) with: source <(composer completion zsh)
_composer() {
    local -a candidates
    candidates=("${(@f)$(composer __complete "${(@)words[2,CURRENT]}" 2>/dev/null)}")
    compadd -- "${(@)candidates:#}"
}
compdef _composer composer
""",
    "fish": """\
# fish completion for composer; load it with: composer completion fish | source
function __composer_complete
    set -l words (commandline -opc)
    set -e words[1]
    set -l cur (commandline -ct)
    composer __complete $words "$cur" 2>/dev/null
end
complete -c composer -f -a '(__composer_complete)'
""",
}
