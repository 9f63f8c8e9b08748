"""json-file log, as the container monitor writes it (native/jsonlog.c through the binary's `log-replay`
mode): one entry per line, partial lines held back, rotation by size and count; and the options' units."""

from __future__ import annotations

import json
import struct
import subprocess
from pathlib import Path
from typing import Any

import pytest

from engine.runtime import native
from engine.runtime.logfile import parse_size, rfc3339nano

STREAMS = {"stdout": 0, "stderr": 1}


@pytest.fixture(scope="module")
def cmon(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return native.binary(tmp_path_factory.mktemp("native"))  # Unavailable says why (is cc installed?)


def write_log(
    cmon: Path, path: Path, chunks: list[tuple[str, bytes]], opts: dict[str, str] | None = None
) -> None:
    opts = opts or {}
    feed = b"".join(struct.pack(">BL", STREAMS[s], len(data)) + data for s, data in chunks)
    args = [str(cmon), "log-replay", f"log={path}", f"log-max-size={parse_size(opts.get('max-size'))}",
            f"log-max-file={opts.get('max-file', '1')}"]
    done = subprocess.run(args, input=feed, capture_output=True, check=False, timeout=60)
    assert done.returncode == 0, done.stderr


def entries(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_lines_and_partial_lines(cmon: Path, tmp_path: Path) -> None:
    path = tmp_path / "c-json.log"
    write_log(cmon, path, [("stdout", b"a\nb"), ("stderr", b"e\n"), ("stdout", b"c\n"), ("stdout", b"tail")])
    got = [(e["stream"], e["log"]) for e in entries(path)]
    assert got == [("stdout", "a\n"), ("stderr", "e\n"), ("stdout", "bc\n"), ("stdout", "tail")]
    stamp = entries(path)[0]["time"]
    assert len(stamp) == len("2024-01-01T00:00:00.123456789Z") and stamp.endswith("Z")


def test_rotation_keeps_max_file(cmon: Path, tmp_path: Path) -> None:
    path = tmp_path / "c-json.log"
    write_log(cmon, path, [("stdout", f"line {i}\n".encode()) for i in range(50)],
              {"max-size": "200", "max-file": "2"})
    assert path.stat().st_size <= 200 and (tmp_path / "c-json.log.1").stat().st_size <= 200
    assert not (tmp_path / "c-json.log.2").exists()
    assert entries(path)[-1]["log"] == "line 49\n"


def test_max_file_one_truncates(cmon: Path, tmp_path: Path) -> None:
    path = tmp_path / "c-json.log"
    write_log(cmon, path, [("stdout", f"line {i}\n".encode()) for i in range(20)], {"max-size": "100"})
    assert path.stat().st_size <= 100 and not (tmp_path / "c-json.log.1").exists()
    assert entries(path)[-1]["log"] == "line 19\n"


def test_parse_size() -> None:
    assert parse_size("10m") == 10 * 1024 * 1024 and parse_size("1k") == 1024 and parse_size(None) == -1
    with pytest.raises(ValueError, match="invalid max-size"):
        parse_size("ten")


def test_rfc3339nano() -> None:
    assert rfc3339nano(1_000_000_000_123) == "1970-01-01T00:16:40.000000123Z"
