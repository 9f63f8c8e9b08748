"""Generate the shell completion script.

Usage:
  completion (bash|zsh|fish)

Load it into the current shell:
  bash:  source <(composer completion bash)
  zsh:   source <(composer completion zsh)        (after compinit)
  fish:  composer completion fish | source

It completes commands, flags, and the service names of the project in the current directory (or the one
the -f/-p/--project-directory flags on the command line name).
"""

from __future__ import annotations

from composer.cli.options import GlobalOptions


def run(argv: list[str], options: GlobalOptions) -> int:
    from composer.cli.completion import script
    from composer.cli.parsing import parse_command
    from composer.presenter import out

    args = parse_command(__doc__ or "", argv)
    shell = next(name for name in ("bash", "zsh", "fish") if args[name])
    out(script(shell).rstrip("\n"))
    return 0
