"""json-file log: one entry per line, partial lines held back, rotation by size and count."""

from __future__ import annotations

import json

import pytest

from engine.runtime.logfile import JsonFileLog, parse_size, rfc3339nano


def entries(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_lines_and_partial_lines(tmp_path):
    log = JsonFileLog(tmp_path / "c-json.log")
    log.write("stdout", b"a\nb")
    log.write("stderr", b"e\n")
    log.write("stdout", b"c\n")
    log.write("stdout", b"tail")
    log.close()
    got = [(e["stream"], e["log"]) for e in entries(tmp_path / "c-json.log")]
    assert got == [("stdout", "a\n"), ("stderr", "e\n"), ("stdout", "bc\n"), ("stdout", "tail")]
    stamp = entries(tmp_path / "c-json.log")[0]["time"]
    assert len(stamp) == len("2024-01-01T00:00:00.123456789Z") and stamp.endswith("Z")


def test_rotation_keeps_max_file(tmp_path):
    path = tmp_path / "c-json.log"
    log = JsonFileLog(path, {"max-size": "200", "max-file": "2"})
    for i in range(50):
        log.write("stdout", f"line {i}\n".encode())
    log.close()
    assert path.stat().st_size <= 200 and (tmp_path / "c-json.log.1").stat().st_size <= 200
    assert not (tmp_path / "c-json.log.2").exists()
    assert entries(path)[-1]["log"] == "line 49\n"


def test_max_file_one_truncates(tmp_path):
    path = tmp_path / "c-json.log"
    log = JsonFileLog(path, {"max-size": "100"})
    for i in range(20):
        log.write("stdout", f"line {i}\n".encode())
    log.close()
    assert path.stat().st_size <= 100 and not (tmp_path / "c-json.log.1").exists()


def test_parse_size():
    assert parse_size("10m") == 10 * 1024 * 1024 and parse_size("1k") == 1024 and parse_size(None) == -1
    with pytest.raises(ValueError, match="invalid max-size"):
        parse_size("ten")


def test_rfc3339nano():
    assert rfc3339nano(1_000_000_000_123) == "1970-01-01T00:16:40.000000123Z"
