"""Durations, sizes and short syntaxes parsed and printed as the reference does (no binary needed)."""

from __future__ import annotations

import pytest

from composer.canonical.units import UnitError, canonical_bytes, canonical_duration, parse_duration
from composer.loader.norm_ports import PortError, parse_port_spec
from composer.loader.norm_volumes import VolumeError, parse_volume_spec


@pytest.mark.parametrize(
    ("given", "printed"),
    [
        ("90s", "1m30s"),
        ("1m", "1m0s"),
        ("1h", "1h0m0s"),
        ("1.5h", "1h30m0s"),
        ("1500ms", "1.5s"),
        ("500ms", "500ms"),
        ("1us", "1µs"),
        ("2d", "48h0m0s"),
        ("1h2m3s", "1h2m3s"),
        ("0", "0s"),
        ("1m0.5s", "1m0.5s"),
    ],
)
def test_durations(given: str, printed: str) -> None:
    assert canonical_duration(given) == printed


@pytest.mark.parametrize("bad", ["abc", "5", "1x", ""])
def test_bad_durations(bad: str) -> None:
    with pytest.raises(UnitError):
        parse_duration(bad)


@pytest.mark.parametrize(
    ("given", "printed"),
    [
        ("512m", "536870912"),
        ("64M", "67108864"),
        ("1.5g", "1610612736"),
        (1000, "1000"),
        ("1kb", "1024"),
        ("2GiB", "2147483648"),
        ("100", "100"),
    ],
)
def test_sizes(given: object, printed: str) -> None:
    assert canonical_bytes(given) == printed


def test_bad_size() -> None:
    with pytest.raises(UnitError):
        canonical_bytes("12q")


def test_port_ranges_and_errors() -> None:
    assert [p["target"] for p in parse_port_spec("8-10")] == [10, 8, 9]  # sorted as strings, like Compose
    assert parse_port_spec("8000-8010:80")[0]["published"] == "8000-8010"
    with pytest.raises(PortError):
        parse_port_spec("8000-8001:80-82")
    with pytest.raises(PortError):
        parse_port_spec("abc")


def test_volume_short_syntax() -> None:
    assert parse_volume_spec("/data") == {"type": "volume", "target": "/data", "volume": {}}
    assert parse_volume_spec("${X}:/data:ro")["source"] == "${X}"
    assert parse_volume_spec("./a:/b:ro,Z,rslave")["bind"] == {
        "selinux": "Z",
        "propagation": "rslave",
        "create_host_path": True,
    }
    with pytest.raises(VolumeError):
        parse_volume_spec("ab::c")
    with pytest.raises(VolumeError):
        parse_volume_spec("vol:/x:ro:z")
    # a one-letter field before ':' is a Windows drive, as in the reference
    assert parse_volume_spec("C:\\data:/data")["source"] == "C:\\data"
    assert parse_volume_spec("a:/b:c:d")["target"] == "c:d"
