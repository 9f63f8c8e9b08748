"""Normalization behaviour that needs no reference binary: errors, purity, extensions, context."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from composer.errors import ConfigError
from composer.loader.normalize import NormalizeContext, json_view, normalize

from .conftest import load


@pytest.mark.parametrize(
    ("text", "key_path", "line", "words"),
    [
        (
            "services:\n  a:\n    image: x\n    ports:\n      - 80\n      - abc\n",
            "services.a.ports[1]",
            6,
            "abc",
        ),
        ("services:\n  a:\n    image: x\n    mem_limit: 12q\n", "services.a.mem_limit", 4, "invalid size"),
        (
            "services:\n  a:\n    image: x\n    healthcheck:\n      interval: soon\n",
            "services.a.healthcheck.interval",
            5,
            "invalid duration",
        ),
        (
            "services:\n  a:\n    image: x\n    volumes:\n      - ab::c\n",
            "services.a.volumes[0]",
            5,
            "empty section",
        ),
        (
            "services:\n  a:\n    image: x\n    ports:\n      - 8000-8001:80-82\n",
            "services.a.ports[0]",
            5,
            "invalid ranges",
        ),
    ],
)
def test_bad_values_are_located(project_dir: Path, text: str, key_path: str, line: int, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(project_dir, text)
    err = info.value
    assert err.key_path == key_path
    assert err.location is not None and err.location.line == line
    assert words in err.detail
    assert "\n" not in str(err)


def test_input_is_not_modified() -> None:
    data = {"services": {"a": {"image": "x", "ports": ["80:80"], "environment": ["A=1"]}}}
    before = copy.deepcopy(data)
    normalize(data, NormalizeContext("p", "/srv/p"))
    assert data == before


def test_service_extensions_stay_in_canonical_but_not_in_json() -> None:
    data = {
        "services": {"a": {"image": "x", "x-svc": 1, "labels": {"x-label": "kept"}}},
        "x-top": {"y": 2},
    }
    canonical = normalize(data, NormalizeContext("p", "/srv/p"))
    assert canonical["services"]["a"]["x-svc"] == 1
    view = json_view(canonical)
    assert "x-svc" not in view["services"]["a"]
    assert view["services"]["a"]["labels"] == {"x-label": "kept"}
    assert view["x-top"] == {"y": 2}


def test_context_supplies_name_dir_and_environment() -> None:
    data = {
        "services": {
            "a": {
                "build": {"context": "app", "args": ["TOKEN", "MISSING"]},
                "environment": ["FROM_ENV", "UNSET"],
                "volumes": ["~/cache:/cache", "./data:/data"],
            }
        },
        "volumes": {"unused": None},
    }
    ctx = NormalizeContext("shop", "/srv/shop", {"HOME": "/home/u", "TOKEN": "t0k", "FROM_ENV": "v"})
    canonical = normalize(data, ctx)
    service = canonical["services"]["a"]
    assert service["build"] == {
        "context": "/srv/shop/app",
        "dockerfile": "Dockerfile",
        "args": {"TOKEN": "t0k"},
    }
    assert service["environment"] == {"FROM_ENV": "v", "UNSET": None}
    assert [m["source"] for m in service["volumes"]] == ["/home/u/cache", "/srv/shop/data"]
    assert canonical["networks"] == {"default": {"name": "shop_default", "ipam": {}}}
    assert "volumes" not in canonical  # unused resources are dropped, as the reference does
    assert canonical["name"] == "shop"


def test_deprecations_are_reported_as_warnings() -> None:
    ctx = NormalizeContext("p", "/srv/p")
    data = {
        "services": {"a": {"image": "x", "networks": ["n"]}},
        "networks": {"n": {"external": {"name": "old"}}},
    }
    canonical = normalize(data, ctx)
    assert canonical["networks"]["n"] == {"name": "old", "ipam": {}, "external": True}
    assert ctx.warnings == ["networks.n: external.name is deprecated. Please set name and external: true"]
