"""engine.daemon is the composition root: it builds every store and service, and the registry client and the
builder only on first use (the idle daemon loads neither); a build cut short by a crash is cleaned up at
start without loading the registry client. Run in a fresh interpreter, so sys.modules says what was loaded."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.root

ROOT = Path(__file__).resolve().parents[3]

SCRIPT = """
import json, sys
from pathlib import Path
from engine.config import parse
from engine.daemon import Engine

data, run = sys.argv[1], sys.argv[2]
engine = Engine(parse(["--data-root", data, "--exec-root", run]))
loaded = lambda: {m: m in sys.modules for m in ("engine.registry", "engine.build.executor")}
out = {"at_start": loaded(), "contexts_left": (Path(data) / "build" / "contexts").exists()}
b = engine.backends
out["stores"] = [type(b.images).__name__, type(b.volumes).__name__, type(b.networks).__name__]
if sys.argv[3] == "use":
    registry = b.registry()
    builder = b.builder()
    out["same_registry"] = registry is b.registry() is builder.registry and builder is b.builder()
    out["builder_root"] = str(builder.root)
    out["after_use"] = loaded()
print(json.dumps(out))
"""


def _engine(tmp_path: Path, mode: str) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "data"), str(tmp_path / "run"), mode],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return dict(json.loads(proc.stdout))


def test_services_are_built_by_the_daemon_registry_and_builder_on_first_use(tmp_path: Path) -> None:
    out = _engine(tmp_path, "use")
    assert out["stores"] == ["ImageStore", "VolumeStore", "NetworkService"]
    assert out["at_start"] == {"engine.registry": False, "engine.build.executor": False}
    assert out["same_registry"] is True
    assert out["builder_root"] == str(tmp_path / "data" / "build")
    assert out["after_use"] == {"engine.registry": True, "engine.build.executor": True}


def test_a_crashed_build_is_cleaned_at_start_without_the_registry(tmp_path: Path) -> None:
    stale = tmp_path / "data" / "build" / "contexts" / "ctx-1"
    stale.mkdir(parents=True)
    (stale / "Dockerfile").write_text("FROM scratch\n")
    out = _engine(tmp_path, "idle")
    assert out["contexts_left"] is False
    assert out["at_start"] == {"engine.registry": False, "engine.build.executor": True}
