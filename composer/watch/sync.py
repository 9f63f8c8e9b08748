"""Copy changed files into a running container (PUT /containers/{id}/archive, one tar per batch) and delete
what was deleted (exec `rm -rf`). `stale` finds what differs between a rule's host tree and the container's
target by content, for `initial_sync`."""

from __future__ import annotations

import hashlib
import io
import logging
import os
import tarfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from composer.client import engine_errors
from composer.watch.rules import WatchRule

log = logging.getLogger(__name__)


def _add_parents(tar: tarfile.TarFile, rule: WatchRule, rel: str, seen: set[str]) -> None:
    """Directory entries for the parents of `rel` below the target, so a new subdirectory appears."""
    parts = rel.split("/")[:-1]
    for i in range(1, len(parts) + 1):
        sub = "/".join(parts[:i])
        if sub in seen:
            continue
        seen.add(sub)
        host = rule.path / sub
        info = tarfile.TarInfo(rule.container_path(sub).lstrip("/"))
        info.type = tarfile.DIRTYPE
        try:
            st = host.stat()
            info.mode, info.mtime = st.st_mode & 0o7777, int(st.st_mtime)
        except OSError:
            info.mode = 0o755
        tar.addfile(info)


def build_tar(rule: WatchRule, rels: Sequence[str]) -> bytes:
    """A tar of the host files at their container paths (absolute, written relative to `/`)."""
    buf = io.BytesIO()
    seen: set[str] = set()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for rel in rels:
            host = rule.path / rel if rel else rule.path
            _add_parents(tar, rule, rel, seen)
            try:
                tar.add(str(host), arcname=rule.container_path(rel).lstrip("/"), recursive=host.is_dir())
            except OSError as exc:  # vanished between the event and now: the next event says so
                log.debug("skip vanished path=%s error=%s", host, exc)
    return buf.getvalue()


def split(rule: WatchRule, paths: Iterable[Path]) -> tuple[list[str], list[str]]:
    """(present, deleted) relative paths the rule acts on; a directory covers what is below it."""
    present: list[str] = []
    deleted: list[str] = []
    for path in sorted(set(paths)):
        rel = rule.relative(path)
        if rel is None:
            continue
        (present if os.path.lexists(path) else deleted).append(rel)
    present = [r for r in present if not (Path(rule.path / r).is_dir() and _has_child(r, present))]
    return present, deleted


def _has_child(rel: str, rels: list[str]) -> bool:
    prefix = rel + "/" if rel else ""
    return any(r != rel and r.startswith(prefix) for r in rels)


def sync(
    api: Any, container_ids: Sequence[str], rule: WatchRule, present: Sequence[str], deleted: Sequence[str]
) -> None:
    """Into every replica: the tar first, then the deletions."""
    data = build_tar(rule, present) if present else b""
    for cid in container_ids:
        if data:
            with engine_errors(f"copying files into {cid[:12]}"):
                api.put_archive(cid, "/", data)
        if deleted:
            run(api, cid, ("rm", "-rf", "--", *(rule.container_path(r) for r in deleted)))


def run(
    api: Any,
    cid: str,
    cmd: Sequence[str],
    *,
    user: str | None = None,
    workdir: str | None = None,
    env: Sequence[str] = (),
) -> tuple[int, str]:
    """Exec `cmd` in the container and wait for it: (exit code, output)."""
    with engine_errors(f"running {cmd[0]} in {cid[:12]}"):
        exec_id = api.exec_create(
            cid, list(cmd), user=user or "", workdir=workdir, environment=list(env) or None
        )
        output = api.exec_start(exec_id)
        code = api.exec_inspect(exec_id).get("ExitCode")
    text = output.decode(errors="replace") if isinstance(output, bytes) else str(output or "")
    return int(code or 0), text


def _host_digests(rule: WatchRule) -> dict[str, str]:
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(rule.path):
        base = Path(dirpath)
        dirnames[:] = [d for d in dirnames if rule.relative(base / d) is not None]
        for name in filenames:
            path = base / name
            rel = rule.relative(path)
            if rel is None or not path.is_file():
                continue
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def _container_digests(api: Any, cid: str, rule: WatchRule) -> dict[str, str]:
    assert rule.target is not None
    try:
        stream, _ = api.get_archive(cid, rule.target)
    except Exception as exc:  # the target does not exist yet: everything is stale
        log.debug("no target in container cid=%s target=%s error=%s", cid[:12], rule.target, exc)
        return {}
    data = b"".join(stream)
    top = rule.target.rstrip("/").rsplit("/", 1)[-1]
    out: dict[str, str] = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for member in tar:
            if not member.isfile():
                continue
            name = member.name
            rel = name[len(top) + 1 :] if name.startswith(top + "/") else name
            fh = tar.extractfile(member)
            if fh is not None:
                out[rel] = hashlib.sha256(fh.read()).hexdigest()
    return out


def stale(api: Any, cid: str, rule: WatchRule) -> list[str]:
    """Host files whose content the container's target lacks or differs from (what `initial_sync` copies)."""
    if rule.path.is_file():
        return [""]
    host = _host_digests(rule)
    there = _container_digests(api, cid, rule)
    return sorted(rel for rel, digest in host.items() if there.get(rel) != digest)
