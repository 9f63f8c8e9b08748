"""composer.security_opts: how Compose v2 turns `security_opt` into the API's SecurityOpt."""

from __future__ import annotations

from pathlib import Path

import pytest

from composer.errors import ComposerError
from composer.security_opts import resolve_security_opts


def test_profile_file_becomes_compact_json(tmp_path: Path) -> None:
    (tmp_path / "p.json").write_text('{\n  "defaultAction": "SCMP_ACT_ALLOW"\n}\n')
    opts = resolve_security_opts(("seccomp=p.json", "seccomp:unconfined", "no-new-privileges",
                                  "label=disable"), str(tmp_path))
    assert opts.security_opt == ('seccomp={"defaultAction":"SCMP_ACT_ALLOW"}', "seccomp:unconfined",
                                 "no-new-privileges", "label=disable")
    assert not opts.unconfined_paths


def test_colon_form_reads_the_file_too(tmp_path: Path) -> None:
    (tmp_path / "p.json").write_text('{"defaultAction": "SCMP_ACT_LOG"}')
    assert resolve_security_opts(("seccomp:p.json",), str(tmp_path)).security_opt == (
        'seccomp={"defaultAction":"SCMP_ACT_LOG"}',)


def test_systempaths_unconfined_is_not_sent(tmp_path: Path) -> None:
    opts = resolve_security_opts(("systempaths=unconfined", "seccomp=builtin"), str(tmp_path))
    assert opts.security_opt == ("seccomp=builtin",)
    assert opts.unconfined_paths


@pytest.mark.parametrize(("opt", "message"), [
    ("nonsense", 'Invalid security-opt: "nonsense"'),
    ("seccomp=missing.json", "opening seccomp profile (missing.json) failed: No such file or directory"),
    ("seccomp=bad.json", "compacting json for seccomp profile (bad.json) failed"),
])
def test_bad_options_are_one_line(tmp_path: Path, opt: str, message: str) -> None:
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ComposerError) as info:
        resolve_security_opts((opt,), str(tmp_path))
    assert info.value.message.startswith(message)
    assert "\n" not in info.value.message
