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


def test_engine_errors_wording() -> None:
    """An API error is the engine's message (after what we were doing); only a failed connection says
    the engine cannot be reached."""
    from composer.client import EngineError, engine_errors
    from composer.transport import APIError

    not_found = APIError(404, "Could not find the file /x in container c")
    with pytest.raises(EngineError) as err, engine_errors():
        raise not_found
    assert err.value.message == "Could not find the file /x in container c"
    with pytest.raises(EngineError) as err, engine_errors("copying"):
        raise not_found
    assert err.value.message == "copying: Could not find the file /x in container c"
    with pytest.raises(EngineUnreachable) as unreachable, engine_errors("listing"):
        raise ConnectionRefusedError(111, "Connection refused")
    assert unreachable.value.message == "listing: cannot reach the engine ([Errno 111] Connection refused)"
    with pytest.raises(EngineUnreachable) as unreachable, engine_errors():
        raise ConnectionRefusedError(111, "Connection refused")
    assert unreachable.value.message == "cannot reach the engine: [Errno 111] Connection refused"


def test_starting_the_embedded_engine_without_root_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from composer.embedded import start_embedded_engine
    from composer.errors import ComposerError

    monkeypatch.setattr("os.geteuid", lambda: 1000)
    with pytest.raises(ComposerError) as err:
        start_embedded_engine(announce=False, environ={"COMPOSER_ENGINE_ROOT": str(tmp_path)})
    assert err.value.message == (
        f"no engine answers at unix://{tmp_path}/e.sock; cannot run containers: the engine needs root "
        "(namespaces, mounts, cgroups, bridges)"
    )
    assert err.value.hint is not None and "sudo composer engine start" in err.value.hint
    assert not (tmp_path / "exec").exists()  # nothing was started or made
