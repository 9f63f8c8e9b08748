"""`composer engine install|uninstall [--print]`: the systemd units, checked by systemd's own verifier.

This machine does not run systemd (and the tests must not change the host), so the units are written to a
temporary --unit-dir and nothing is started or enabled; `systemd-analyze verify` still loads them the way
PID 1 would and complains about any key, value or reference it does not accept."""

from __future__ import annotations

import configparser
import shlex
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.unit.cli.conftest import Result

ENV = {"PATH": "/usr/bin:/bin", "COMPOSER_ENGINE_ROOT": "/srv/ce"}


def _sections(text: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(text)
    return parser


def test_install_writes_units_that_systemd_accepts(cli: Callable[..., Result], tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.fail("systemd-analyze is missing: .ci/setup installs Debian's systemd package")
    units = tmp_path / "units"
    r = cli("engine", "install", "--unit-dir", str(units), "--", "--log-opt", "max-size=10m", environ=ENV)
    assert r.code == 0, r.err
    assert sorted(p.name for p in units.iterdir()) == ["composer-engine.service", "composer-engine.socket"]
    assert f"Wrote {units / 'composer-engine.service'}" in r.out
    for path in units.iterdir():
        assert path.stat().st_mode & 0o777 == 0o644

    verify = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *sorted(str(p) for p in units.iterdir())],
        capture_output=True,
        text=True,
    )
    # verify exits 0 even for unknown keys or bad values (it only warns): any output is a defect
    assert verify.returncode == 0 and verify.stdout + verify.stderr == "", verify.stdout + verify.stderr

    service = _sections((units / "composer-engine.service").read_text())
    assert service["Service"]["KillMode"] == "process"
    assert service["Service"]["Type"] == "notify"
    assert service["Service"]["Delegate"] == "yes"
    for key in ("LimitNOFILE", "LimitNPROC", "TasksMax"):
        assert service["Service"][key]
    after = service["Unit"]["After"].split()
    assert {"network-online.target", "nftables.service", "composer-engine.socket"} <= set(after)
    assert service["Unit"]["Requires"] == "composer-engine.socket"
    argv = shlex.split(service["Service"]["ExecStart"])
    assert Path(argv[0]).is_file()
    assert argv[-8:] == [
        "-H",
        "fd://",
        "--data-root",
        "/srv/ce/data",
        "--exec-root",
        "/srv/ce/exec",
        "--log-opt",
        "max-size=10m",
    ]
    socket_unit = _sections((units / "composer-engine.socket").read_text())
    assert socket_unit["Socket"]["ListenStream"] == "/srv/ce/e.sock"
    assert socket_unit["Socket"]["SocketMode"] == "0660"


def test_verify_catches_a_broken_unit(tmp_path: Path) -> None:
    """The check above can fail: the same verifier on a unit with a bad key and value complains."""
    if shutil.which("systemd-analyze") is None:
        pytest.fail("systemd-analyze is missing")
    bad = tmp_path / "bad.service"
    bad.write_text("[Service]\nExecStart=/bin/true\nKillMode=sometimes\nLimitNOFLE=1\n")
    verify = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(bad)], capture_output=True, text=True
    )
    assert "kill mode" in verify.stderr and "LimitNOFLE" in verify.stderr


def test_print_writes_nothing(cli: Callable[..., Result], tmp_path: Path) -> None:
    units = tmp_path / "units"
    r = cli("engine", "install", "--print", "--unit-dir", str(units), environ=ENV)
    assert r.code == 0, r.err
    assert not units.exists()
    assert f"# {units / 'composer-engine.socket'}\n[Unit]" in r.out
    assert "\nKillMode=process\n" in r.out and "ListenStream=/srv/ce/e.sock" in r.out


def test_uninstall_removes_units_and_is_idempotent(cli: Callable[..., Result], tmp_path: Path) -> None:
    units = tmp_path / "units"
    assert cli("engine", "install", "--unit-dir", str(units), environ=ENV).code == 0
    (units / "other.service").write_text("[Service]\nExecStart=/bin/true\n")
    r = cli("engine", "uninstall", "--unit-dir", str(units), environ=ENV)
    assert r.code == 0, r.err
    assert sorted(p.name for p in units.iterdir()) == ["other.service"]  # only ours go
    assert r.out.count("Removed ") == 2
    again = cli("engine", "uninstall", "--unit-dir", str(units), environ=ENV)
    assert again.code == 0 and f"No composer-engine units in {units}" in again.out


def test_unwritable_unit_dir_is_one_line(cli: Callable[..., Result], tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    r = cli("engine", "install", "--unit-dir", str(blocker / "sub"), environ=ENV)
    assert r.code != 0
    assert (
        r.err.strip().startswith(f"cannot write the units to {blocker / 'sub'}") and "Traceback" not in r.err
    )
