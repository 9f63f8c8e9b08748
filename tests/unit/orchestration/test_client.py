"""Engine selection: -H, then DOCKER_HOST, then the embedded socket; an unreachable engine is one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from composer.client import EngineUnreachable
from composer.options import GlobalOptions
from composer.session import connect, resolve_host


def test_host_precedence(tmp_path: Path) -> None:
    env = {"DOCKER_HOST": "tcp://10.0.0.1:2376"}
    assert resolve_host("unix:///x.sock", env) == ("unix:///x.sock", False)
    assert resolve_host(None, env) == ("tcp://10.0.0.1:2376", False)
    assert resolve_host(None, {}) == ("unix:///run/composer/engine.sock", True)
    assert resolve_host(None, {"COMPOSER_ENGINE_ROOT": str(tmp_path)}) == (f"unix://{tmp_path}/e.sock", True)


def test_unreachable_engine_is_one_clear_error(tmp_path: Path) -> None:
    options = GlobalOptions(host=f"unix://{tmp_path}/none.sock", environ={})
    with pytest.raises(EngineUnreachable) as info:
        connect(options)
    assert info.value.message == f"cannot connect to the engine at unix://{tmp_path}/none.sock"
