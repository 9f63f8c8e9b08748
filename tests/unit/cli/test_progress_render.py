"""composer.progress: the frames, lines and JSON of Compose's progress display (the real terminal and the
reference binary are in tests/e2e/test_pull_progress.py)."""

from __future__ import annotations

import io
import json
import re

from composer.progress import Progress, human_size, layer_bar

WIDTH = 160


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_pull_in_progress_shows_bars_and_sizes() -> None:
    """A frame in the middle of a pull (the real engine is too fast to catch one): the parent has one
    braille bar per layer and the bytes done / total; the layers show the docker CLI's bar."""
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Terminal()
    progress = Progress("tty", stream=out, title="Pulling")
    progress._width = lambda: WIDTH  # type: ignore[method-assign]
    progress.emit("web", text="Pulling")
    progress.emit("aaaaaaaaaaaa", parent="web", text="Already exists", state="done", percent=100)
    progress.emit("bbbbbbbbbbbb", parent="web", text="Downloading", status=layer_bar(1048576, 3001560),
                  current=1048576, total=3001560, percent=34)
    progress.emit("cccccccccccc", parent="web", text="Downloading", status=layer_bar(124, 248),
                  current=124, total=248, percent=50)
    frame = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.getvalue().rsplit("[+]", 1)[1])
    lines = frame.splitlines()
    assert lines[0] == " Pulling 1/4"
    assert re.match(r" [⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] web \[⣿⣀⣤\] 1.049MB / 3.002MB Pulling +\d\.\ds $", lines[1]), lines[1]
    bar = re.escape(layer_bar(1048576, 3001560))
    assert re.match(rf"   [⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] bbbbbbbbbbbb Downloading +{bar} +\d\.\ds $", lines[3]), lines[3]
    assert all(len(line) == WIDTH for line in lines[1:]), [len(line) for line in lines]
    # on a narrower terminal the status is cut as Compose cuts it (width - text - status column - 15)
    progress._width = lambda: 100  # type: ignore[method-assign]
    progress.close()  # the last frame, drawn again
    narrow = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.getvalue().rsplit("[+]", 1)[1]).splitlines()
    assert "Downloading [=================>" in narrow[3] and "...  " in narrow[3]
    assert all(len(line) == 100 for line in narrow[1:])


def test_layer_bar_and_sizes_as_the_docker_cli_prints_them() -> None:
    bar = "[=================>                                 ]"
    assert layer_bar(1048576, 3001560) == f"{bar}  1.049MB/3.002MB"
    assert layer_bar(248, 248) == "[==================================================>]     248B/248B"
    assert layer_bar(0, 0) == ""
    assert layer_bar(5000, 0) == "     5kB"  # no total: the count alone
    assert human_size(999) == "999B" and human_size(1000) == "1kB" and human_size(123456789) == "123.5MB"


def test_plain_json_and_quiet_lines() -> None:
    plain = io.StringIO()
    progress = Progress("plain", stream=plain)
    progress.event("Container", "p-web-1", "Started")
    progress.event("Container", "p-web-1", "Started")  # nothing new: no line
    progress.emit("web", text="Pulling")
    assert plain.getvalue() == " Container p-web-1  Started\n web Pulling \n"
    js = io.StringIO()
    progress = Progress("json", stream=js)
    progress.event("Container", "p-web-1", "Started")
    progress.emit("ab12", parent="web", text="Downloading", status=layer_bar(1, 2), current=1, total=2,
                  percent=50)
    first, second = js.getvalue().splitlines()
    assert first == '{"id":"Container p-web-1","status":"Started"}'
    assert json.loads(second) == {"id": "ab12", "parent_id": "web", "text": "Downloading",
                                  "status": layer_bar(1, 2), "current": 1, "total": 2, "percent": 50}
    quiet = io.StringIO()
    Progress("quiet", stream=quiet).emit("web", text="Pulling")
    assert quiet.getvalue() == ""
