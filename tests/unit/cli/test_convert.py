"""`composer convert`: Compose's alias of `config`, plus `--format kubernetes` (see tests/unit/kube)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import yaml

from tests.unit.cli.conftest import Result

ROOT = Path(__file__).resolve().parents[3]


def test_cli_writes_one_file_per_object(cli: Callable[..., Result], tmp_path: Path) -> None:
    compose = str(ROOT / "examples" / "webapp" / "compose.yaml")
    printed = cli("-f", compose, "convert", "--format", "kubernetes")
    assert printed.code == 0, printed.err
    documents = list(yaml.safe_load_all(printed.out))
    assert {(d["kind"], d["metadata"]["name"]) for d in documents} >= {
        ("Deployment", "web"),
        ("StatefulSet", "kv"),
    }
    assert "WARNING: service web: init has no Kubernetes equivalent" in printed.err
    written = cli("-f", compose, "convert", "--format", "kubernetes", "-o", str(tmp_path / "out"))
    assert written.code == 0, written.err
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert "web-deployment.yaml" in files and "kv-statefulset.yaml" in files and len(files) == len(documents)
    assert yaml.safe_load((tmp_path / "out" / "web-deployment.yaml").read_text()) in documents


def test_cli_convert_is_config_for_yaml_and_json(cli: Callable[..., Result]) -> None:
    compose = str(ROOT / "examples" / "webapp" / "compose.yaml")
    assert cli("-f", compose, "convert").out == cli("-f", compose, "config").out
    assert (
        cli("-f", compose, "convert", "--format", "json").out
        == cli("-f", compose, "config", "--format", "json").out
    )
    bad = cli("-f", compose, "convert", "--format", "helm")
    assert bad.code != 0 and "use yaml, json or kubernetes" in bad.err
