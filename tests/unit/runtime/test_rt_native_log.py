"""The native monitor's json-file writer is byte-for-byte the test oracle's JsonFileLog (but for the
timestamps).

The same chunks go through both: the Python class in-process, the C writer through the binary's
`log-replay` mode (stdin records: stream byte, 4-byte big-endian length, data). Needs a C compiler.
"""

from __future__ import annotations

import random
import re
import struct
import subprocess
from pathlib import Path

import pytest

from engine.runtime import native
from tests.support.monitor_oracle import JsonFileLog

STAMP = re.compile(rb'"time": "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z"\}$', re.M)

OLD = b'{"log": "old\\n", "stream": "stdout", "time": "2024-01-01T00:00:00.000000000Z"}\n'
TRICKY = [
    b"plain line\n",
    b'quote " backslash \\ slash / tab \t cr \r bell \x07 nul \x00 esc \x1b del \x7f\n',
    bytes(range(0x20)) + b"\n",
    "é ü 中文 😀 \u2028 \u2029 \ufeff\n".encode(),
    b"bad start \x80 \xbf \xc0\xaf \xc1\x81 \xf5\x80 \xff\xfe\n",
    b"overlong \xe0\x80\x80 \xe0\x9f\xbf surrogate \xed\xa0\x80 \xed\xbf\xbf max \xf4\x90\x80\x80\n",
    b"truncated \xe2\x82 x \xf0\x9f\x98 y \xc3\n",
    b"split across chunks \xe2",
    b"\x82\xac done\n",
    b"no newline at all, then stderr",
    b"",
    b"x" * 20000,  # > 16 KiB without a newline: cut into entries of 16384 bytes
    b"y" * 5000 + b"\n" + b"z" * 17000 + b"\n",  # a newline anywhere in the buffer keeps a long line whole
    b"\xe2\x82\xac" * 6000,  # a cut in the middle of a character
    b"\r\n\r\n",
    b"tail without newline",
]


@pytest.fixture(scope="module")
def cmon(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return native.binary(tmp_path_factory.mktemp("native"))  # Unavailable says why (is cc installed?)


def write_both(tmp: Path, cmon: Path, chunks: list[tuple[int, bytes]], opts: dict[str, str],
               existing: bytes = b"") -> tuple[Path, Path]:
    py_dir, c_dir = tmp / "py", tmp / "c"
    for d in (py_dir, c_dir):
        d.mkdir()
        if existing:
            (d / "c-json.log").write_bytes(existing)
    log = JsonFileLog(py_dir / "c-json.log", opts)
    for stream, data in chunks:
        log.write(("stdout", "stderr")[stream], data)
    log.close()
    feed = b"".join(struct.pack(">BL", stream, len(data)) + data for stream, data in chunks)
    probe = JsonFileLog(c_dir / "probe.log", opts)  # the Python side's own parse of the options
    probe.close()
    args = [str(cmon), "log-replay", f"log={c_dir / 'c-json.log'}", f"log-max-size={probe.max_size}",
            f"log-max-file={probe.max_file}"]
    (c_dir / "probe.log").unlink()
    done = subprocess.run(args, input=feed, capture_output=True, check=False)
    assert done.returncode == 0, done.stderr
    return py_dir, c_dir


def normalized(path: Path) -> bytes:
    data = path.read_bytes()
    assert len(STAMP.findall(data)) == data.count(b"\n")  # every entry carries an RFC 3339 nano stamp
    return STAMP.sub(b'"time": "T"}', data)


def assert_same_files(py_dir: Path, c_dir: Path) -> None:
    names = sorted(p.name for p in py_dir.iterdir())
    assert names == sorted(p.name for p in c_dir.iterdir())
    for name in names:
        assert normalized(c_dir / name) == normalized(py_dir / name), name


def test_tricky_bytes_match_python_writer(tmp_path: Path, cmon: Path) -> None:
    chunks = [(i % 3 == 2 and 1 or 0, data) for i, data in enumerate(TRICKY)]
    py_dir, c_dir = write_both(tmp_path, cmon, chunks, {})
    assert_same_files(py_dir, c_dir)
    assert (py_dir / "c-json.log").read_bytes().count(b"\n") > 10


def test_random_bytes_match_python_writer(tmp_path: Path, cmon: Path) -> None:
    rng = random.Random(1234)
    alphabet = (b"ab\n\n\r\t\"\\\x00\x1f\x7f\x80\xbf\xc2\xc3\xa9\xe0\xe2\x82\xac"
                b"\xed\xa0\xf0\x9f\x98\x80\xf4\x90\xff")
    chunks = [(rng.randrange(2), bytes(rng.choice(alphabet) for _ in range(rng.randrange(0, 300))))
              for _ in range(400)]
    py_dir, c_dir = write_both(tmp_path, cmon, chunks, {})
    assert_same_files(py_dir, c_dir)


@pytest.mark.parametrize("opts", [{"max-size": "1k", "max-file": "3"}, {"max-size": "300"},
                                  {"max-size": "2k", "max-file": "5"}])
def test_rotation_matches_python_writer(tmp_path: Path, cmon: Path, opts: dict[str, str]) -> None:
    chunks = [(i % 2, f"entry {i} {'é' * (i % 7)}\n".encode()) for i in range(300)]
    py_dir, c_dir = write_both(tmp_path, cmon, chunks, opts, existing=OLD * 5)
    assert_same_files(py_dir, c_dir)
    assert (py_dir / "c-json.log").stat().st_size <= 2048
