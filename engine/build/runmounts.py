"""`RUN --mount=...` and `RUN --network=...` as HostConfig for the step's container.

type=cache keeps a directory under `<build-root>/mounts/` across builds (keyed by `id`, default the target);
type=bind mounts a context path (or a path of another stage's image is not supported) read-only unless `rw`;
type=tmpfs gives a fresh tmpfs. secret and ssh mounts need BuildKit's session and are refused clearly.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
from pathlib import Path
from typing import Any

from engine.build.paths import scoped
from engine.errors import InvalidParameter


def _fields(spec: str, line: int) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in spec.split(","):
        if not part:
            continue
        key, sep, value = part.partition("=")
        key = key.strip().lower()
        out[key] = value.strip() if sep else "true"
    if "type" not in out:
        out["type"] = "bind"
    return out


def host_config(
    flags: dict[str, list[str]], line: int, *, build_root: Path, context: Path, workdir: str
) -> tuple[dict[str, Any], list[tuple[Path, str]]]:
    """HostConfig for the step's container, and the context paths bound into it (source, target): their
    content is part of the step's cache key."""
    hc: dict[str, Any] = {"NetworkMode": "host"}  # docker's default build network is a bridge; see executor
    network = (flags.get("network") or ["default"])[-1]
    if network == "none":
        hc["NetworkMode"] = "none"
    elif network not in ("default", "host"):
        raise InvalidParameter(f"Dockerfile parse error line {line}: unsupported RUN --network={network}")
    if "security" in flags:
        raise InvalidParameter(
            f"Dockerfile parse error line {line}: RUN --security needs BuildKit, which this "
            "engine does not offer"
        )
    binds: list[str] = []
    tmpfs: dict[str, str] = {}
    bound: list[tuple[Path, str]] = []
    for spec in flags.get("mount") or []:
        f = _fields(spec, line)
        if f["type"] not in ("cache", "bind", "tmpfs"):
            raise InvalidParameter(
                f"Dockerfile parse error line {line}: RUN --mount=type={f['type']} needs BuildKit, "
                "which this engine does not offer"
            )
        target = f.get("target") or f.get("dst") or f.get("destination") or ""
        if not target:
            raise InvalidParameter(f"Dockerfile parse error line {line}: RUN --mount needs a target")
        target = posixpath.normpath(posixpath.join(workdir or "/", target))
        kind = f["type"]
        if kind == "cache":
            ident = f.get("id") or target
            path = build_root / "mounts" / hashlib.sha256(ident.encode()).hexdigest()[:32]
            path.mkdir(parents=True, exist_ok=True)
            if "mode" in f or "uid" in f or "gid" in f:
                os.chmod(path, int(f.get("mode", "755"), 8))
                os.chown(path, int(f.get("uid", "0")), int(f.get("gid", "0")))
            binds.append(f"{path}:{target}")
        elif kind == "bind":
            if f.get("from"):
                raise InvalidParameter(
                    f"Dockerfile parse error line {line}: RUN --mount=type=bind,from= is "
                    "not supported by this engine"
                )
            source = scoped(context, f.get("source") or f.get("src") or "/")
            if not source.exists():
                raise InvalidParameter(
                    f"Dockerfile parse error line {line}: bind source "
                    f"{f.get('source', '/')} is not in the build context"
                )
            rw = f.get("rw") == "true" or f.get("readwrite") == "true"
            binds.append(f"{source}:{target}" + ("" if rw else ":ro"))
            bound.append((source, target))
        elif kind == "tmpfs":
            tmpfs[target] = ""
        else:
            raise InvalidParameter(
                f"Dockerfile parse error line {line}: RUN --mount=type={kind} needs BuildKit, "
                "which this engine does not offer"
            )
    if binds:
        hc["Binds"] = binds
    if tmpfs:
        hc["Tmpfs"] = tmpfs
    return hc, bound
