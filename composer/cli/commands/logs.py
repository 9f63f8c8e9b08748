"""View output from containers.

Usage:
  logs [options] [SERVICE...]

Options:
  -f, --follow          Follow log output (also containers recreated or started later)
  --index INDEX         Index of the container if the service has multiple replicas
  --no-color            Produce monochrome output
  --no-log-prefix       Don't print the prefix in logs
  --since SINCE         Show logs since a timestamp (2013-01-02T13:23:37Z) or relative (42m)
  --until UNTIL         Show logs before a timestamp or relative (42m)
  -n, --tail TAIL       Number of lines to show from the end of the logs for each container [default: all]
  -t, --timestamps      Show timestamps
  --merge               Print the lines of all containers in timestamp order
"""

from __future__ import annotations

import datetime
import re
import sys
import time

from composer._typecheck import TYPE_CHECKING
from composer.cli.options import GlobalOptions
from composer.errors import ComposerError

if TYPE_CHECKING:
    from typing import Any

    from composer.containers import ProjectContainer
    from composer.session import Session

_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns))+$")
_PART = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)")
_UNIT = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}


def parse_time(value: str | None, flag: str) -> float | None:
    """--since/--until as the docker CLI takes them: a Go duration back from now, a unix time, or an
    RFC 3339 date (time); returned as unix seconds."""
    if value is None or value == "":
        return None
    if _DURATION.match(value):
        return time.time() - sum(float(n) * _UNIT[u] for n, u in _PART.findall(value))
    try:
        return float(value)
    except ValueError:
        pass
    text = value[:-1] + "+00:00" if value.endswith("Z") else value
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise ComposerError(
            f"invalid {flag} value {value!r}: use a timestamp or a duration like 42m"
        ) from None
    if moment.tzinfo is None:
        moment = moment.astimezone()  # a date without zone is local time, as the docker CLI reads it
    return moment.timestamp()


def parse_tail(value: str) -> int | None:
    if value in ("all", ""):
        return None
    try:
        tail = int(value)
    except ValueError:
        raise ComposerError(f"invalid --tail value {value!r}: a number or 'all'") from None
    return None if tail < 0 else tail


def run(argv: list[str], options: GlobalOptions) -> int:
    from composer.cli.commands._common import parse_index
    from composer.client import engine_errors
    from composer.containers import display_name
    from composer.logs import LogFormat, LogPrinter, LogStreamer, merged_history
    from composer.presenter import use_color
    from composer.session import open_session

    args = parse_command(argv)
    since = parse_time(args["--since"], "--since")
    until = parse_time(args["--until"], "--until")
    tail = parse_tail(args["--tail"])
    index = parse_index(args["--index"])
    services = list(args["SERVICE"])
    t = open_session(options, services, streaming=True)
    containers = t.containers(services, all=True)
    if index is not None:
        containers = [c for c in containers if c.number == index]
    fmt = LogFormat(
        color=not args["--no-color"] and use_color(options.ansi),
        prefix=not args["--no-log-prefix"],
        timestamps=bool(args["--timestamps"]),
    )
    # names are registered as their first line prints, so the padding grows as the reference's does
    printer = LogPrinter(sys.stdout, fmt)
    follow = bool(args["--follow"])
    with engine_errors():
        resume_at: dict[str, float] = {}  # display name -> follow from just after the merged history
        if args["--merge"]:
            read_at = time.time()
            for line in merged_history(t.api, containers, t.name, tail=tail, since=since, until=until):
                printer.line(line)
                seconds, nanos = line.sort_key
                resume_at[line.name] = seconds + nanos / 1e9 + 1e-6
            if not follow:
                return 0
            since = read_at
            tail = None
        streamer = LogStreamer(t.api, t.name, printer, follow=follow, tail=tail, since=since, until=until)
        try:
            if follow and until is None:
                streamer.watch(services)
            for c in containers:
                streamer.add(c, since=resume_at.get(display_name(c, t.name)))
            if follow and until is None:
                # as the reference: -f ends once none of the followed services' containers runs
                streamer.follow_until_idle(lambda: _running(t, services, index))
            else:
                streamer.wait()
        except KeyboardInterrupt:
            return 130  # as the reference: ended by Ctrl-C
        finally:
            streamer.close()
    return 0


def _running(t: Session, services: list[str], index: int | None) -> list[ProjectContainer]:
    running = t.containers(services)
    return [c for c in running if index is None or c.number == index]


def parse_command(argv: list[str]) -> dict[str, Any]:
    from composer.cli.parsing import parse_command as parse

    return parse(__doc__ or "", argv)
