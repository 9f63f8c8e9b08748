"""What keeps the everyday commands fast is also behaviour: which modules a command imports, and that the
shortcuts (summaries read from source) say the same as the modules themselves. Timings live in bench/."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import pytest

from composer.cli import commands


@pytest.mark.parametrize("name", commands.names())
def test_listing_read_from_source_matches_the_module(name: str) -> None:
    from_source = commands.listing(name)
    module = commands.load(name)
    assert from_source is not None and module is not None
    assert from_source.summary == commands.summary(module)
    assert from_source.supports_dry_run == bool(getattr(module, "SUPPORTS_DRY_RUN", False))


_REPORT_MODULES = """
import sys
from composer.cli.main import main
code = main(sys.argv[1:])
sys.stderr.write("\\n".join(sorted(sys.modules)))
sys.exit(code)
"""


def _imported(*args: str) -> set[str]:
    """Modules loaded by one run of `composer ARGS` in a fresh interpreter (without site: what this
    machine's .pth files import is not composer's; the checkout is on PYTHONPATH, see tests/conftest.py)."""
    proc = subprocess.run(
        [sys.executable, "-S", "-c", _REPORT_MODULES, *args], capture_output=True, text=True, check=True
    )
    return set(proc.stderr.splitlines())


@pytest.mark.parametrize("args", [[], ["--help"], ["-h"], ["version"], ["--version"], ["-v"]])
def test_help_and_version_are_answered_before_the_heavy_imports(args: list[str]) -> None:
    heavy = {"docopt", "dataclasses", "typing", "pathlib", "json", "composer.options", "composer.errors"}
    assert not heavy & _imported(*args)


def test_help_and_version_import_no_command_but_their_own() -> None:
    assert not [m for m in _imported("--help") if m.startswith("composer.cli.commands.")]
    assert [m for m in _imported("version") if m.startswith("composer.cli.commands.")] == [
        "composer.cli.commands.version"
    ]


def _build(cache: object, module: str = "composer.example") -> type:
    """A frozen dataclass of `module` made with `cache` standing in for dataclasses' exec."""
    import dataclasses

    saved = dataclasses.__dict__.get("exec")
    dataclasses.exec = cache.exec  # type: ignore[attr-defined]
    owner = types.ModuleType(module)  # dataclasses reads the class's module from sys.modules
    sys.modules[module] = owner
    try:
        owner.dataclasses = dataclasses  # type: ignore[attr-defined]
        source = "@dataclasses.dataclass(frozen=True)\nclass Point:\n    x: int\n    y: int = 0\n"
        exec(source, owner.__dict__)
        return owner.Point  # type: ignore[attr-defined, no-any-return]
    finally:
        del sys.modules[module]
        if saved is None:
            del dataclasses.exec  # type: ignore[attr-defined]
        else:
            dataclasses.exec = saved  # type: ignore[attr-defined]


def test_code_cache_reuses_compiled_methods_across_runs(tmp_path: Path) -> None:
    import dataclasses

    from composer._codecache import _Cache

    path = str(tmp_path / "c.marshal")
    first = _Cache(path)
    point = _build(first)
    assert first.added and first.codes
    first.save()
    second = _Cache(path)
    assert set(second.codes) == set(first.codes)
    again = _build(second)
    assert not second.added  # every method came from the file
    p, q = point(1, 2), again(1, 2)
    assert (repr(p), p == point(1, 2), hash(p) == hash(point(1, 2))) == (repr(q), True, True)
    with pytest.raises(dataclasses.FrozenInstanceError):
        q.x = 3  # type: ignore[misc]


def test_a_corrupt_code_cache_is_rebuilt(tmp_path: Path) -> None:
    from composer._codecache import _Cache

    path = tmp_path / "c.marshal"
    path.write_bytes(b"\x00not marshal")
    cache = _Cache(str(path))
    assert cache.codes == {}
    assert _build(cache)(1).x == 1
    cache.save()
    assert _Cache(str(path)).codes


def test_code_cache_keeps_only_composers_classes(tmp_path: Path) -> None:
    from composer._codecache import _Cache

    cache = _Cache(str(tmp_path / "c.marshal"))
    assert _build(cache, module="someone_else.models")(1).x == 1
    assert not cache.added and cache.codes == {}


def _leaving(body: str) -> subprocess.CompletedProcess[str]:
    """A fresh interpreter that runs `body` and then leaves as the `composer` command does."""
    script = f"import atexit, sys, threading\nfrom composer.cli.main import leave\n{body}\n"
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)


def test_leaving_runs_exit_handlers_and_flushes_the_streams() -> None:
    proc = _leaving(
        "atexit.register(lambda: print('handler'))\n"
        "print('buffered', end='')\n"
        "sys.stderr.write('err')\n"
        "leave(3)"
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (3, "bufferedhandler\n", "err")


def test_leaving_waits_for_a_thread_still_running() -> None:
    proc = _leaving(
        "import time\n"
        "def late():\n"
        "    time.sleep(0.2)\n"
        "    print('thread done')\n"
        "threading.Thread(target=late).start()\n"
        "leave(0)"
    )
    assert (proc.returncode, proc.stdout) == (0, "thread done\n")


def test_the_command_exits_with_mains_status() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "composer.cli.main", "no-such-command"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "unknown command: 'no-such-command'" in proc.stderr


# What a kept `ls`, `ps`, `port` or `logs` imports before it talks to the engine: none of these (each is
# 1-4 ms of a ~25 ms start; bench/everyday.py has the figures).
_NOT_ON_THE_EVERYDAY_PATH = {
    "typing", "pathlib", "urllib.parse", "ipaddress", "threading", "docopt", "inspect"
}  # fmt: skip
_EVERYDAY_MODULES = [
    "composer.cli.main",
    "composer.cli.options",
    "composer.cli.parsing",
    "composer.session",
    "composer.lite",
    "composer.presenter",
    "composer.cli.commands.ls",
    "composer.cli.commands.ps",
    "composer.cli.commands.port",
    "composer.cli.commands.logs",
    "composer.cli.commands._common",
    "composer.projectcache",
    "composer.observe",
    "composer.containers",
]


def test_the_everyday_commands_modules_import_none_of_the_heavy_ones() -> None:
    probe = (
        "import sys\nfrom composer._deferred import defer\ndefer('inspect')\n"
        f"for name in {_EVERYDAY_MODULES!r}:\n    __import__(name)\n"
        "real = {m for m, mod in sys.modules.items() if type(mod).__name__ != '_StandIn'}\n"
        "sys.stderr.write('\\n'.join(sorted(real)))\n"
    )
    proc = subprocess.run([sys.executable, "-S", "-c", probe], capture_output=True, text=True, check=True)
    assert _NOT_ON_THE_EVERYDAY_PATH & set(proc.stderr.splitlines()) == set()
