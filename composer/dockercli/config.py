"""The docker CLI's configuration directory and its config.json, as the docker CLI finds them.

The directory is $DOCKER_CONFIG, else ~/.docker ($HOME from the environment composer was given). A missing
config.json is an empty configuration; an unreadable or malformed one is an error naming the file, as the
docker CLI refuses to start with one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from composer.errors import ComposerError

CONFIG_FILE = "config.json"


def config_dir(environ: Mapping[str, str]) -> Path:
    explicit = environ.get("DOCKER_CONFIG", "").strip()
    if explicit:
        return Path(explicit)
    home = environ.get("HOME") or os.path.expanduser("~")
    return Path(home) / ".docker"


def config_file(environ: Mapping[str, str]) -> Path:
    return config_dir(environ) / CONFIG_FILE


def load(environ: Mapping[str, str]) -> dict[str, Any]:
    path = config_file(environ)
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ComposerError(f"cannot read the docker CLI configuration {path}: {exc.strerror}") from None
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ComposerError(f"{path}: invalid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ComposerError(f"{path}: the configuration must be a JSON object")
    return data


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """A reader (the docker CLI) sees the old file or the new one, never half of it."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def set_current_context(environ: Mapping[str, str], name: str) -> None:
    """`docker context use NAME`: currentContext in config.json, every other key kept."""
    data = load(environ)
    if name == "default":
        data.pop("currentContext", None)
    else:
        data["currentContext"] = name
    write_atomic(config_file(environ), (json.dumps(data, indent="\t") + "\n").encode(), mode=0o600)
