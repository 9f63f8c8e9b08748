"""Receive real time events from containers.

Usage:
  events [options] [SERVICE...]

Options:
  --json          Output events as a stream of json objects
  --since SINCE   Show all events created since timestamp
  --until UNTIL   Stream events until this timestamp
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping
from typing import Any

from composer.cli.options import GlobalOptions

# Compose's own labels are the project's bookkeeping, not news for the reader.
_HIDDEN_PREFIX = "com.docker.compose."


def run(argv: list[str], options: GlobalOptions) -> int:
    from composer.cli.commands.logs import parse_time
    from composer.client import engine_errors
    from composer.labels import PROJECT, SERVICE
    from composer.session import open_session

    args = parse_command(argv)
    services = set(args["SERVICE"])
    t = open_session(options, list(services), streaming=True)
    since = parse_time(args["--since"], "--since")
    until = parse_time(args["--until"], "--until")
    with engine_errors():
        stream = t.api.events(
            decode=True,
            since=since,
            until=until,
            filters={"type": "container", "label": [f"{PROJECT}={t.name}"]},
        )
        try:
            for event in stream:
                attrs = (event.get("Actor") or {}).get("Attributes") or {}
                service = attrs.get(SERVICE, "")
                if services and service not in services:
                    continue
                if args["--json"]:
                    print(_json_line(event, service, attrs), flush=True)
                else:
                    print(_text_line(event, attrs) + "\n", flush=True)  # the reference leaves a blank line
        except KeyboardInterrupt:
            return 130  # as the reference: ended by Ctrl-C
        finally:
            stream.close()
    return 0


def _nanos(event: Mapping[str, Any]) -> int:
    return int(event.get("timeNano") or int(event.get("time") or 0) * 1_000_000_000)


def _moment(event: Mapping[str, Any]) -> datetime.datetime:
    """Local time, truncated to microseconds as Go's formatting truncates."""
    seconds, nanos = divmod(_nanos(event), 1_000_000_000)
    moment = datetime.datetime.fromtimestamp(seconds).astimezone()
    return moment.replace(microsecond=nanos // 1000)


def _rfc3339_nano(event: Mapping[str, Any]) -> str:
    """UTC with the nanoseconds, trailing zeros trimmed (Go's time.RFC3339Nano)."""
    seconds, nanos = divmod(_nanos(event), 1_000_000_000)
    base = datetime.datetime.fromtimestamp(seconds, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    fraction = f"{nanos:09d}".rstrip("0")
    return f"{base}{'.' + fraction if fraction else ''}Z"


def _shown(attrs: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in sorted(attrs.items()) if not k.startswith(_HIDDEN_PREFIX)}


def _text_line(event: Mapping[str, Any], attrs: Mapping[str, str]) -> str:
    stamp = _moment(event).strftime("%Y-%m-%d %H:%M:%S.%f")
    cid = (event.get("Actor") or {}).get("ID") or event.get("id", "")
    text = f"{stamp} container {event.get('Action', '')} {cid}"
    shown = _shown(attrs)
    if shown:
        text += " (" + ", ".join(f"{k}={v}" for k, v in shown.items()) + ")"
    return text


def _json_line(event: Mapping[str, Any], service: str, attrs: Mapping[str, str]) -> str:
    entry = {
        "action": event.get("Action", ""),
        "attributes": _shown(attrs),
        "id": (event.get("Actor") or {}).get("ID") or event.get("id", ""),
        "service": service,
        "time": _rfc3339_nano(event),
        "type": "container",
    }
    return json.dumps(entry, separators=(",", ":"))


def parse_command(argv: list[str]) -> dict[str, Any]:
    from composer.cli.parsing import parse_command as parse

    return parse(__doc__ or "", argv)
