"""Helpers shared by the registry integration tests."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path
from typing import Any

from engine.images.store import ImageStore

USERS = {"alice": "wonderland"}


def busybox_image(store: ImageStore, tar: bytes, tag: str, cmd: list[str] | None = None) -> Any:
    """The busybox rootfs as a one-layer image, built only through the store's contract."""
    diff_id = store.add_layer(io.BytesIO(tar))
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": "2026-01-01T00:00:00Z",
        "config": {
            "Cmd": cmd or ["sh"],
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        },
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": "2026-01-01T00:00:00Z", "created_by": "tests: busybox-static rootfs"}],
    }
    return store.create_image(json.dumps(config).encode(), [tag])


def statuses(messages: list[dict[str, Any]]) -> list[str]:
    return [m.get("status", "") for m in messages]


def tree(root: Path) -> list[str]:
    """Every path under `root` with its size (to prove a failed pull left a store unchanged)."""
    return sorted(
        f"{p.relative_to(root)}:{p.stat().st_size if p.is_file() else 'd'}" for p in root.rglob("*")
    )


def b64json(obj: object) -> str:
    import base64

    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode()


def skopeo_inspect(ref: str, *, raw: bool = False) -> dict[str, Any]:
    args = ["skopeo", "inspect", "--tls-verify=false", *(["--raw"] if raw else []), f"docker://{ref}"]
    out = subprocess.run(args, check=True, capture_output=True, text=True, timeout=60)
    return json.loads(out.stdout)  # type: ignore[no-any-return]
