"""`docker build` (the classic builder, DOCKER_BUILDKIT=0) where a client can tell our engine from dockerd
20.10: the same builds against both (`either`, tests/e2e/both.py)."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from tests.e2e.both import Engine

pytestmark = [pytest.mark.root, pytest.mark.e2e]


def _context(tmp_path: Path, dockerfile: str, **files: str) -> Path:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(dockerfile)
    for name, text in files.items():
        (ctx / name.replace("__", ".")).write_text(text)
    return ctx


def test_add_host_and_network_of_a_build_reach_run(either: Engine, tmp_path: Path) -> None:
    either.cli("network", "create", "t-bnet")
    either.cli("run", "-d", "--name", "t-bpeer", "--network", "t-bnet", "busybox", "sleep", "100")
    ctx = _context(tmp_path, "FROM busybox\nRUN grep foo /etc/hosts\nRUN ping -c 1 -W 3 t-bpeer\n")
    out = either.cli("build", "--no-cache", "--add-host", "foo:1.2.3.4", "--network", "t-bnet",
                     "-t", "e2e/bnet", str(ctx), timeout=120).out
    assert "1.2.3.4\tfoo" in out
    assert "1 packets received" in out or "1 received" in out


def test_run_stderr_is_red_in_the_json_stream(either: Engine, tmp_path: Path) -> None:
    body = io.BytesIO()
    with tarfile.open(fileobj=body, mode="w") as tar:
        data = b"FROM busybox\nRUN echo to-stdout; echo to-stderr >&2\n"
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    answer = either.api("POST", "/build?nocache=1&t=e2e/bred", body.getvalue(),
                        headers={"Content-Type": "application/x-tar"}, timeout=120)
    assert answer.status == 200
    text = "".join(json.loads(line).get("stream", "") for line in answer.body.splitlines() if line.strip())
    assert "to-stdout\n" in text and "\x1b[91mto-stderr\n\x1b[0m" in text
    assert "\x1b[91mto-stdout" not in text


def test_cache_from_a_missing_image_disables_the_cache(either: Engine, tmp_path: Path) -> None:
    ctx = _context(tmp_path, "FROM busybox\nRUN echo step > /made\n")
    either.cli("build", "-t", "e2e/bcache", str(ctx), timeout=120)
    again = either.cli("build", "-t", "e2e/bcache", str(ctx), timeout=120).out
    assert "Using cache" in again
    cold = either.cli("build", "--cache-from", "e2e/nosuch:1", "-t", "e2e/bcache", str(ctx), timeout=120).out
    assert "Using cache" not in cold and "Running in" in cold
    # the image itself as a cache source gives its steps back
    warm = either.cli("build", "--cache-from", "e2e/bcache", "-t", "e2e/bcache", str(ctx), timeout=120).out
    assert "Using cache" in warm


def test_dockerfile_and_dockerignore_listed_in_dockerignore(either: Engine, tmp_path: Path) -> None:
    ctx = _context(tmp_path, "FROM busybox\nCOPY . /ctx\nRUN ls -a /ctx\n",
                   __dockerignore="Dockerfile\n.dockerignore\n", kept="x\n")
    out = either.cli("build", "--no-cache", "-t", "e2e/bignore", str(ctx), timeout=120).out
    listing = out.split("RUN ls -a /ctx\n", 1)[1]
    assert "kept" in listing and "Dockerfile" not in listing and ".dockerignore" not in listing
