"""The log printer and time parsing on their own (no engine): prefixes, colours, timestamps."""

from __future__ import annotations

import io
import time

import pytest

from composer.cli.commands.logs import parse_tail, parse_time
from composer.errors import ComposerError
from composer.logs import LogFormat, LogLine, LogPrinter, split_timestamp, timestamp_key


def test_prefix_width_grows_with_the_widest_name_seen() -> None:
    out = io.StringIO()
    printer = LogPrinter(out, LogFormat())
    printer.line(LogLine("web-1", "a"))
    printer.register("worker-1")
    printer.line(LogLine("web-1", "b"))
    printer.line(LogLine("worker-1", "c"))
    assert out.getvalue() == "web-1  | a\nweb-1     | b\nworker-1  | c\n"


def test_colours_differ_per_name_and_notes_have_no_bar() -> None:
    out = io.StringIO()
    printer = LogPrinter(out, LogFormat(color=True), ["a-1", "b-1"])
    printer.line(LogLine("a-1", "x"))
    printer.line(LogLine("b-1", "y"))
    printer.note("a-1", "a-1 exited with code 0")
    first, second, note = out.getvalue().splitlines()
    assert first.startswith("\x1b[36m") and second.startswith("\x1b[33m")
    assert note == "\x1b[36ma-1 exited with code 0\x1b[0m"


def test_timestamps_and_no_prefix() -> None:
    out = io.StringIO()
    LogPrinter(out, LogFormat(prefix=False, timestamps=True)).line(
        LogLine("w-1", "hi", "2026-01-02T03:04:05.5Z")
    )
    assert out.getvalue() == "2026-01-02T03:04:05.5Z hi\n"


def test_timestamps_order_by_value_not_text() -> None:
    # the engine trims trailing zeros: ".5" is later than ".123456789" though it sorts first as text
    assert timestamp_key("2026-01-02T03:04:05.5Z") > timestamp_key("2026-01-02T03:04:05.123456789Z")
    assert timestamp_key("2026-01-02T03:04:05Z") < timestamp_key("2026-01-02T03:04:05.000000001Z")
    assert split_timestamp("2026-01-02T03:04:05.5Z text with spaces") == (
        "2026-01-02T03:04:05.5Z",
        "text with spaces",
    )
    assert split_timestamp("no stamp here") == ("", "no stamp here")


def test_since_until_and_tail_values() -> None:
    assert abs(parse_time("90s", "--since") - (time.time() - 90)) < 2  # type: ignore[operator]
    assert abs(parse_time("1h30m", "--since") - (time.time() - 5400)) < 2  # type: ignore[operator]
    assert parse_time("1700000000", "--since") == 1700000000.0
    assert parse_time("2023-11-14T22:13:20Z", "--since") == 1700000000.0
    assert parse_time(None, "--since") is None
    with pytest.raises(ComposerError, match="invalid --until value"):
        parse_time("soon", "--until")
    assert (parse_tail("all"), parse_tail("5"), parse_tail("-1")) == (None, 5, None)
    with pytest.raises(ComposerError, match="invalid --tail value"):
        parse_tail("many")
