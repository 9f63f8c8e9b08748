"""A built service's context as file digests, recorded on its containers so `up` can say which file
made a rebuild necessary (`rebuild: hello.sh changed`).

The record is a label (`BUILD_CONTEXT_LABEL`, JSON {path: digest}) on the containers: the engine's objects
stay the only record. `.dockerignore` patterns are honoured approximately (fnmatch on the relative path
and its parents), enough to leave ignored files out of the comparison.
"""

from __future__ import annotations

import fnmatch
import json
import os
from collections.abc import Mapping

from composer._typecheck import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

BUILD_CONTEXT_LABEL = "io.composer.build-context"
MAX_FILES = 2000  # a bigger context is not recorded (the label would be too large); builds still run


def _ignored(rel: str, patterns: list[str]) -> bool:
    ignored = False
    parts = rel.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        negate = pattern.startswith("!")
        pat = pattern[1:] if negate else pattern
        if any(fnmatch.fnmatchcase(p, pat) for p in prefixes):
            ignored = not negate
    return ignored


def context_digests(context: str | Path) -> dict[str, str] | None:
    """{relative path: sha256[:16]} of the context's files; None when it is not a local dir or too big."""
    import hashlib  # only for services that build (OpenSSL's import is ~2.5 ms of every `up`)
    from pathlib import Path  # the same: a no-change `up` compares recorded digests only (~3 ms)

    root = Path(context)
    if not root.is_dir():
        return None
    patterns = _ignore_patterns(root)
    found: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in sorted(filenames):
            full = Path(dirpath) / name
            rel = full.relative_to(root).as_posix()
            if _ignored(rel, patterns) or not full.is_file():
                continue
            if len(found) >= MAX_FILES:
                return None
            digest = hashlib.sha256(full.read_bytes()).hexdigest()[:16]
            found[rel] = f"{digest}:{full.stat().st_mode & 0o777:o}"
        dirnames.sort()
    return found


def encode(digests: Mapping[str, str]) -> str:
    return json.dumps(dict(sorted(digests.items())), separators=(",", ":"))


def changed_files(recorded: str | None, current: Mapping[str, str] | None) -> list[str]:
    """Files added, removed or changed since the recorded context; [] when either side is unknown."""
    if not recorded or current is None:
        return []
    try:
        old = json.loads(recorded)
    except ValueError:
        return []
    if not isinstance(old, dict):
        return []
    return sorted(p for p in set(old) | set(current) if old.get(p) != current.get(p))


def _ignore_patterns(root: Path) -> list[str]:
    patterns: list[str] = []
    ignore = root / ".dockerignore"
    if ignore.is_file():
        for line in ignore.read_text(errors="replace").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                patterns.append(line.strip("/").removeprefix("./"))
    return patterns


def context_tar(context: str | Path, dockerfile: str = "Dockerfile") -> tuple[bytes, str]:
    """The build context as the tar `POST /build` takes, and the Dockerfile's name inside it.

    Files `.dockerignore` excludes are left out, except the Dockerfile and `.dockerignore` themselves (the
    builder reads both, as the docker CLI sends them). A Dockerfile outside the context is added under a
    name of its own."""
    import hashlib
    import io
    import tarfile
    from pathlib import Path

    root = Path(context)
    patterns = _ignore_patterns(root)
    df_path = Path(dockerfile) if os.path.isabs(dockerfile) else root / dockerfile
    try:
        df_name = df_path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        df_name = ""
    keep = {df_name, ".dockerignore"}
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            base = Path(dirpath)
            rel_dir = base.relative_to(root).as_posix()
            for name in sorted(dirnames) + sorted(filenames):
                rel = name if rel_dir == "." else f"{rel_dir}/{name}"
                if rel not in keep and _ignored(rel, patterns):
                    if name in dirnames and not any(p.startswith("!") for p in patterns):
                        dirnames.remove(name)  # nothing below it can come back
                    continue
                info = tar.gettarinfo(str(base / name), arcname=rel)
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                if info.isfile():
                    with open(base / name, "rb") as f:
                        tar.addfile(info, f)
                else:
                    tar.addfile(info)
        if not df_name:
            df_name = f".dockerfile.{hashlib.sha256(str(df_path).encode()).hexdigest()[:20]}"
            data = df_path.read_bytes()
            info = tarfile.TarInfo(df_name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue(), df_name
