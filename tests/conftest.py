from __future__ import annotations

import atexit
import os
import shutil
import signal
import tempfile
from pathlib import Path

import pytest

from tests.support import busybox

# Every composer, engine and helper process a test starts imports this checkout, whatever its working
# directory and whichever checkout the installed (editable) package points at.
ROOT = Path(__file__).resolve().parents[1]
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
# composer's caches (loaded projects, compiled dataclass code) in a directory of this run, not the user's
_CACHE = tempfile.mkdtemp(prefix="composer-test-cache-")
os.environ["XDG_CACHE_HOME"] = _CACHE
atexit.register(shutil.rmtree, _CACHE, True)
# Ctrl-C reaches what the tests start even when this run was started in the background of a script (which
# starts with SIGINT ignored, an inheritance every child would keep): the tests send SIGINT as a user would.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.geteuid() == 0:
        return
    skip_root = pytest.mark.skip(reason="needs root; CI runs as root")
    for item in items:
        if "root" in item.keywords:
            item.add_marker(skip_root)


@pytest.fixture(scope="session")
def busybox_tar() -> bytes:
    """The busybox-static rootfs as an uncompressed tar, made once per run."""
    return busybox.rootfs_tar_bytes()


@pytest.fixture
def busybox_rootfs(tmp_path: Path) -> Path:
    """A fresh busybox rootfs directory for one test."""
    return busybox.make_rootfs(tmp_path / "rootfs")
