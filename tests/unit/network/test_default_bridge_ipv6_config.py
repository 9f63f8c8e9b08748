"""dockerd's `--ipv6 --fixed-cidr-v6` (and their daemon.json keys): the default bridge's IPv6 subnet, and
the start refused, with one line, when it cannot be honoured."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.config import ConfigError, parse


def test_flags_and_file_give_the_subnet(tmp_path: Path) -> None:
    assert parse(["--ipv6", "--fixed-cidr-v6", "fd00:1:2:3::/64"]).fixed_cidr_v6 == "fd00:1:2:3::/64"
    assert parse(["--ipv6", "--fixed-cidr-v6", "fd00:1:2:3::5/64"]).fixed_cidr_v6 == "fd00:1:2:3::/64"
    assert parse([]).fixed_cidr_v6 == ""
    conf = tmp_path / "daemon.json"
    conf.write_text(json.dumps({"ipv6": True, "fixed-cidr-v6": "fd00:9::/80"}))
    assert parse(["--config-file", str(conf)]).fixed_cidr_v6 == "fd00:9::/80"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--ipv6"], "IPv6 is enabled for the default bridge, but no subnet is configured. Specify an IPv6 "
                     "subnet using --fixed-cidr-v6"),
        (["--fixed-cidr-v6", "fd00::/64"], "--fixed-cidr-v6 needs --ipv6"),
        (["--ipv6", "--fixed-cidr-v6", "10.0.0.0/8"], "expected an IPv6 subnet"),
        (["--ipv6", "--fixed-cidr-v6", "fd00::/127"], "the subnet is too small"),
    ],
)
def test_refused_with_one_line(argv: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(".", r"\.")):
        parse(argv)
