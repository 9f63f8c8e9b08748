"""The native monitor against its oracle: each scenario runs once with the engine's C monitor and once with
tests/support/monitor_oracle.py (the same loop in Python), on real containers, and what attach clients,
the json-file log and status.json saw must be the same (time stamps and pids aside)."""

from __future__ import annotations

import json
import re
import signal
import socket
import struct
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.runtime.state import Places, read_status
from tests.integration.runtime.rt_support import Box, attach, read_attach, runtime_box
from tests.support.monitor_oracle import ORACLE

pytestmark = pytest.mark.root

Scenario = Callable[[Box], dict[str, Any]]


@pytest.fixture
def boxes(busybox_rootfs: Path, tmp_path: Path) -> Iterator[tuple[Box, Box]]:
    (tmp_path / "native").mkdir()
    (tmp_path / "oracle").mkdir()
    with runtime_box(tmp_path / "native" / "exec", busybox_rootfs, tmp_path / "native") as native_box, \
            runtime_box(tmp_path / "oracle" / "exec", busybox_rootfs, tmp_path / "oracle",
                        monitor=ORACLE) as oracle_box:
        yield native_box, oracle_box


def monitor_of(box: Box, places: Places) -> int:
    if places.eid:
        return int(places.pidfile.read_text())
    data = read_status(places)
    assert data is not None
    return int(data["monitor_pid"])


def wait_serving(box: Box, places: Places) -> None:
    """Until the monitor has become its serving program (the C binary, or the oracle)."""
    pid = monitor_of(box, places)
    want = b"tests.support.monitor_oracle" if box.rt._monitor is ORACLE else b"engine.runtime.native-monitor"
    deadline = time.monotonic() + 30
    while True:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
        if want in argv and (box.rt._monitor is ORACLE or argv[0] == want):
            return
        assert time.monotonic() < deadline, f"monitor {pid} is not serving as {want!r}: {argv}"
        time.sleep(0.02)


def frames(raw: bytes) -> list[tuple[int, bytes]]:
    out = []
    while raw:
        stream, size = struct.unpack(">BxxxL", raw[:8])
        assert len(raw) >= 8 + size, raw
        out.append((stream, raw[8 : 8 + size]))
        raw = raw[8 + size :]
    return out


def by_stream(raw: bytes) -> dict[int, bytes]:
    """The framed streams' bytes, each in order (how one read split them is not the protocol)."""
    out = {1: b"", 2: b""}
    for stream, payload in frames(raw):
        out[stream] += payload
    return out


STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$")


def log_files(box: Box, cid: str) -> dict[str, list[Any]]:
    """Every file of the container's log (rotated ones too), time stamps checked then left out; the raw
    bytes must be what json.dumps(ensure_ascii=False) writes."""
    path = box.log_path(cid)
    found: dict[str, list[Any]] = {}
    for file in sorted(path.parent.glob(path.name + "*")):
        entries = []
        for line in file.read_bytes().splitlines():
            entry = json.loads(line)
            assert list(entry) == ["log", "stream", "time"] and STAMP.match(entry["time"])
            assert line == json.dumps(entry, ensure_ascii=False).encode()
            entries.append([entry["stream"], entry["log"]])
        found[file.name] = entries
    return found


def status(box: Box, places: Places) -> dict[str, Any]:
    raw = places.status.read_text()
    record = json.loads(raw)
    assert raw == json.dumps(record, separators=(",", ":"), sort_keys=True)  # state.write_status's bytes
    assert record["finished_at"] >= record["started_at"] and record["monitor_pid"] > 0 and record["pid"] > 0
    assert [p.name for p in places.dir.iterdir() if ".tmp" in p.name] == []
    return {k: v for k, v in record.items() if k not in ("pid", "monitor_pid", "started_at", "finished_at")}


def read_until(sock: socket.socket, size: int) -> bytes:
    sock.settimeout(30)
    raw = b""
    while len(raw) < size:
        chunk = sock.recv(65536)
        assert chunk, raw
        raw += chunk
    return raw


def wait_log(box: Box, cid: str, text: str) -> None:
    deadline = time.monotonic() + 30
    while text not in box.output(cid):
        assert time.monotonic() < deadline, f"no {text!r} in the log: {box.output(cid)!r}"
        time.sleep(0.02)


def same_on_both(boxes: tuple[Box, Box], scenario: Scenario) -> dict[str, Any]:
    native_box, oracle_box = boxes
    seen = scenario(native_box)
    assert scenario(oracle_box) == seen
    return seen


def stdio_and_attach(box: Box) -> dict[str, Any]:
    box.start(["sh", "-c", "read x; echo out-$x; echo err-$x >&2; cat; echo done"], cid="s1", open_stdin=True)
    places = box.rt._places("s1")
    wait_serving(box, places)
    sock = attach(box.rt.attach_path("s1"), stdin=True)
    sock.sendall(b"hi\n")
    first = read_until(sock, 2 * (8 + len(b"out-hi\n")))
    sock.sendall(b"through cat\n")
    sock.shutdown(socket.SHUT_WR)  # stdin EOF: cat ends
    rest = read_attach(sock, tty=False)
    sock.close()
    state = box.wait("s1")
    return {"first": sorted(frames(first)), "rest": rest, "exit": state.exit_code,
            "log": log_files(box, "s1"), "status": status(box, places), "socket left": places.socket.exists()}


def test_stdio_framing_attach_and_exit_record(boxes: tuple[Box, Box]) -> None:
    seen = same_on_both(boxes, stdio_and_attach)
    assert seen["first"] == [(1, b"out-hi\n"), (2, b"err-hi\n")]
    assert seen["rest"] == (b"through cat\ndone\n", b"")
    assert seen["log"] == {"s1-json.log": [["stdout", "out-hi\n"], ["stderr", "err-hi\n"],
                                           ["stdout", "through cat\n"], ["stdout", "done\n"]]}
    assert seen["status"] == {"status": "exited", "exit_code": 0, "oom_killed": False, "error": ""}
    assert seen["socket left"] is False


def tty(box: Box) -> dict[str, Any]:
    box.start(["sh", "-c", "read x; stty size; echo got-$x; exit 3"], cid="t1", tty=True, open_stdin=True)
    places = box.rt._places("t1")
    wait_serving(box, places)
    sock = attach(box.rt.attach_path("t1"), stdin=True)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as resize:
        resize.settimeout(30)
        resize.connect(str(box.rt.attach_path("t1")))
        resize.sendall(b'{"resize": [30, 100]}\n')
        answer = resize.recv(100)
    sock.sendall(b"hi\n")
    out, _ = read_attach(sock, tty=True, timeout=30)
    sock.close()
    state = box.wait("t1")
    return {"answer": answer, "out": out, "exit": state.exit_code, "log": log_files(box, "t1"),
            "status": status(box, places)}


def test_tty_resize_and_raw_output(boxes: tuple[Box, Box]) -> None:
    seen = same_on_both(boxes, tty)
    assert seen["answer"] == b"{}\n"
    assert seen["out"] == b"hi\r\n30 100\r\ngot-hi\r\n"  # the pty's echo, then the program: no frames
    assert seen["exit"] == 3 and seen["status"]["exit_code"] == 3
    assert seen["log"] == {"t1-json.log": [["stdout", "hi\r\n"], ["stdout", "30 100\r\n"],
                                           ["stdout", "got-hi\r\n"]]}


def held_output(box: Box) -> dict[str, Any]:
    """Attach-before-start: what came before the first client is held for it."""
    box.start(["sh", "-c", "echo before; echo err >&2; read x; echo after-$x; exit 7"], cid="h1",
              open_stdin=True, hold=True)
    places = box.rt._places("h1")
    wait_serving(box, places)
    wait_log(box, "h1", "err\n")
    sock = attach(box.rt.attach_path("h1"), stdin=True)
    sock.sendall(b"x\n")
    raw = b""
    sock.settimeout(30)
    while chunk := sock.recv(65536):
        raw += chunk
    sock.close()
    state = box.wait("h1")
    return {"streams": by_stream(raw), "exit": state.exit_code, "status": status(box, places)}


def test_held_output_reaches_the_first_client(boxes: tuple[Box, Box]) -> None:
    seen = same_on_both(boxes, held_output)
    assert seen["streams"] == {1: b"before\nafter-x\n", 2: b"err\n"}
    assert seen["status"] == {"status": "exited", "exit_code": 7, "oom_killed": False, "error": ""}


def killed_and_exec(box: Box) -> dict[str, Any]:
    box.start(["sleep", "100"], cid="k1")
    wait_serving(box, box.rt._places("k1"))
    program = {"args": ["sh", "-c", "echo early; echo e2 >&2; cat; exit 3"]}
    sock_path = box.rt.exec("k1", "e1", program, tty=False, open_stdin=True)
    exec_places = Places(box.rt._places("k1").dir, "e1")
    wait_serving(box, exec_places)
    with attach(sock_path, stdin=True) as sock:
        sock.sendall(b"late\n")
        sock.shutdown(socket.SHUT_WR)
        exec_out = read_attach(sock, tty=False, timeout=30)
    deadline = time.monotonic() + 30
    while box.rt.exec_state("k1", "e1").status != "exited":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    exec_status = status(box, exec_places)
    box.rt.kill("k1", signal.SIGKILL)
    state = box.wait("k1")
    return {"exec": exec_out, "exec status": exec_status, "exit": state.exit_code,
            "status": status(box, box.rt._places("k1")), "log": log_files(box, "k1")}


def test_exec_output_and_a_killed_container(boxes: tuple[Box, Box]) -> None:
    seen = same_on_both(boxes, killed_and_exec)
    assert seen["exec"] == (b"early\nlate\n", b"e2\n")
    assert seen["exec status"] == {"status": "exited", "exit_code": 3, "oom_killed": False, "error": ""}
    assert seen["exit"] == 137 and seen["status"]["exit_code"] == 137
    assert seen["log"] == {"k1-json.log": []}


LOGGER = ("i=0; while [ $i -lt 120 ]; do echo line-$i; i=$((i+1)); done; "
          "head -c 40000 /dev/zero | tr '\\0' x; printf '\\303\\251 \\377 tab\\t quote\" end'")


def log_lines(box: Box) -> dict[str, Any]:
    state, _ = box.run(["sh", "-c", LOGGER], cid="l1", log_opts={"max-size": "2k", "max-file": "3"})
    return {"exit": state.exit_code, "log": log_files(box, "l1")}


def test_log_lines_long_lines_and_rotation(boxes: tuple[Box, Box]) -> None:
    seen = same_on_both(boxes, log_lines)
    assert seen["exit"] == 0
    assert sorted(seen["log"]) == ["l1-json.log", "l1-json.log.1", "l1-json.log.2"]
    # 40000 x's without a newline: two entries cut at 16 KiB, each (> max-size) in a file of its own
    assert seen["log"]["l1-json.log.2"] == [["stdout", "x" * 16384]]
    assert seen["log"]["l1-json.log.1"] == [["stdout", "x" * 16384]]
    assert seen["log"]["l1-json.log"] == [["stdout", "x" * 7232 + "\u00e9 \ufffd tab\t quote\" end"]]


def request_edges(box: Box) -> dict[str, Any]:
    box.start(["sh", "-c", "read x; echo got-$x; sleep 30"], cid="r1", open_stdin=True)
    wait_serving(box, box.rt._places("r1"))
    path = str(box.rt.attach_path("r1"))
    seen: dict[str, Any] = {}
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as bad:  # not JSON: closed without an answer
        bad.settimeout(30)
        bad.connect(path)
        bad.sendall(b"{nope\n")
        seen["bad"] = bad.recv(100)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as resize:  # no TTY: still answered
        resize.settimeout(30)
        resize.connect(path)
        resize.sendall(b'{"resize": [30, 100]}\n')
        seen["resize"] = resize.recv(100)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(path)
        sock.sendall(b'{"stdin": true, ')  # the request line in two pieces, stdin right after it
        time.sleep(0.1)
        sock.sendall(b'"stdout": 1, "stderr": false, "x": [1, {"y": null}]}\nfirst\n')
        seen["split"] = read_until(sock, 8 + len(b"got-first\n"))
    box.rt.kill("r1", signal.SIGKILL)
    seen["exit"] = box.wait("r1").exit_code
    return seen


def test_request_line_edge_cases(boxes: tuple[Box, Box]) -> None:
    seen = same_on_both(boxes, request_edges)
    assert seen == {"bad": b"", "resize": b"{}\n", "split": b"\x01\0\0\0\0\0\0\x0agot-first\n", "exit": 137}
