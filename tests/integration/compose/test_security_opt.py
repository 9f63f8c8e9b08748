"""`security_opt` as Compose v2 sends it: a seccomp profile file read relative to the project, its JSON
sent to the engine and enforced in the container; `systempaths=unconfined` clears the masked paths; a
missing file is one line."""

from __future__ import annotations

import json
from pathlib import Path

import docker
import pytest

from tests.integration.compose.conftest import Runner

pytestmark = pytest.mark.root

DENY_MKDIR = {
    "defaultAction": "SCMP_ACT_ALLOW",
    "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}],
}

PROJECT = """
name: secopt
services:
  locked:
    image: busybox:latest
    security_opt: ["seccomp=profiles/deny-mkdir.json"]
  paths:
    image: busybox:latest
    security_opt: ["systempaths=unconfined"]
"""


def test_seccomp_profile_file_is_enforced(composer: Runner, api: docker.APIClient, project_dir: Path) -> None:
    (project_dir / "profiles").mkdir()
    (project_dir / "profiles" / "deny-mkdir.json").write_text(json.dumps(DENY_MKDIR, indent=2))
    (project_dir / "compose.yaml").write_text(PROJECT)

    denied = composer("run", "--rm", "locked", "mkdir", "/made")
    assert denied.code != 0
    assert "Operation not permitted" in denied.out + denied.err

    allowed = composer("run", "--rm", "locked", "touch", "/made")  # only mkdir is denied
    assert allowed.code == 0, allowed.err


def test_systempaths_unconfined_unmasks_proc(composer: Runner, project_dir: Path) -> None:
    (project_dir / "profiles").mkdir()
    (project_dir / "profiles" / "deny-mkdir.json").write_text(json.dumps(DENY_MKDIR))
    (project_dir / "compose.yaml").write_text(PROJECT)
    # /proc/timer_list is masked (/dev/null bound over it: reads empty) by default, readable when unconfined
    masked = composer("run", "--rm", "locked", "sh", "-c", "wc -c < /proc/timer_list")
    unmasked = composer("run", "--rm", "paths", "sh", "-c", "wc -c < /proc/timer_list")
    assert masked.code == 0 and unmasked.code == 0, masked.err + unmasked.err
    assert masked.out.strip() == "0"
    assert int(unmasked.out.strip()) > 0


def test_missing_profile_is_one_line(composer: Runner, project_dir: Path) -> None:
    (project_dir / "compose.yaml").write_text(PROJECT)
    result = composer("up", "-d", "locked")
    assert result.code == 1
    assert result.err.strip().splitlines()[-1].endswith(
        "opening seccomp profile (profiles/deny-mkdir.json) failed: No such file or directory")
    assert "Traceback" not in result.err
