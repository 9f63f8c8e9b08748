"""Copy files/folders between a service container and the local filesystem.

Usage:
  cp [options] SERVICE:SRC_PATH DEST_PATH
  cp [options] SRC_PATH SERVICE:DEST_PATH

Options:
  --all               Include containers created by the run command
  -a, --archive       Archive mode (copy all uid/gid information)
  -L, --follow-link   Always follow symbol link in SRC_PATH
  --index INDEX       Index of the container if the service has multiple replicas

Use '-' as DEST_PATH to write a tar archive to stdout, or as SRC_PATH to read one from stdin.
Copying into a service without --index copies into every one of its running containers.
"""

from __future__ import annotations

import contextlib
import io
import os
import posixpath
import shutil
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from composer.cli.options import GlobalOptions
from composer.errors import ComposerError

if TYPE_CHECKING:
    from composer.containers import ProjectContainer
    from composer.session import Session


def _split(arg: str) -> tuple[str | None, str]:
    """SERVICE:PATH -> (service, path); a local path (absolute, ./relative, without ':') -> (None, path)."""
    if arg == "-" or arg.startswith(("/", ".")) or ":" not in arg:
        return None, arg
    service, _, path = arg.partition(":")
    return service, path


def run(argv: list[str], options: GlobalOptions) -> int:
    from composer.cli.commands._common import parse_index
    from composer.cli.parsing import parse_command
    from composer.client import engine_errors
    from composer.session import open_session

    args = parse_command(__doc__ or "", argv)
    (src_service, src), (dest_service, dest) = (
        _split(args["SERVICE:SRC_PATH"] or args["SRC_PATH"]),
        _split(args["DEST_PATH"] or args["SERVICE:DEST_PATH"]),
    )
    if src_service is not None and dest_service is not None:
        raise ComposerError(
            "copying between services is not supported: name one SERVICE:PATH and one local path"
        )
    if src_service is None and dest_service is None:
        raise ComposerError("one of the two paths must be SERVICE:PATH (a service's container)")
    service = str(src_service or dest_service)
    index = parse_index(args["--index"])
    t = open_session(options, [service])
    with engine_errors():
        if src_service is not None:
            c = t.container(service, index)
            with _announced(c.name, f"{c.name}:{src} to {dest}"):
                _copy_out(t, c, src, dest, follow=bool(args["--follow-link"]))
            return 0
        chosen = t.containers([service], oneoff=None if args["--all"] else False)
        if index is not None:
            chosen = [t.container(service, index)]
        if not chosen:
            raise ComposerError(f'service "{service}" is not running')
        for c in chosen:
            with _announced(c.name, f"{src} to {c.name}:{dest}"):
                _copy_in(t, c, src, dest, follow=bool(args["--follow-link"]), archive=bool(args["--archive"]))
    return 0


@contextlib.contextmanager
def _announced(name: str, what: str) -> Iterator[None]:
    """The reference's progress lines on stderr: ` <container> copy <what> Copying`, then `Copied`."""
    sys.stderr.write(f" {name} copy {what} Copying\n")
    sys.stderr.flush()
    yield
    sys.stderr.write(f" {name} copy {what} Copied\n")


def _stat(t: Session, cid: str, path: str) -> dict[str, Any] | None:
    """HEAD /containers/{id}/archive: the path's stat, None when it does not exist."""
    return t.api.archive_stat(cid, path)


def _copy_out(t: Session, c: ProjectContainer, src: str, dest: str, *, follow: bool) -> None:
    if follow and not src.endswith("/"):
        stat = _stat(t, c.id, src)
        if stat and stat.get("linkTarget"):
            src = posixpath.join(posixpath.dirname(src), stat["linkTarget"])
    stream, stat = t.api.get_archive(c.id, src)
    if dest == "-":
        for chunk in stream:
            sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.flush()
        return
    contents_only = src.endswith("/.")
    with tempfile.TemporaryDirectory(dir=os.path.dirname(os.path.abspath(dest)) or ".") as tmp:
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream)), mode="r|") as tar:
            tar.extractall(tmp, filter="tar")
        root = os.path.join(tmp, stat["name"])
        into = os.path.isdir(dest) and not contents_only
        target_path = os.path.join(dest, stat["name"]) if into else dest
        if os.path.isdir(root) and os.path.isdir(target_path):
            shutil.copytree(root, target_path, dirs_exist_ok=True, symlinks=True)
        else:
            if os.path.isdir(target_path) and not os.path.isdir(root):
                raise ComposerError(f"cannot overwrite directory {target_path} with a file")
            os.replace(root, target_path)


def _copy_in(t: Session, c: ProjectContainer, src: str, dest: str, *, follow: bool, archive: bool) -> None:
    if src == "-":
        t.api.put_archive(c.id, dest, sys.stdin.buffer.read())
        return
    if not os.path.lexists(src):
        raise ComposerError(f"no such file or directory: {src}")
    stat = _stat(t, c.id, dest)
    if stat is not None and int(stat.get("mode", 0)) & (1 << 31):  # Go's os.ModeDir bit: copy into it
        parent, name = dest, os.path.basename(os.path.normpath(src))
    else:
        parent, name = posixpath.dirname(dest.rstrip("/")) or "/", posixpath.basename(dest.rstrip("/"))
    if src.endswith("/.") and os.path.isdir(src):
        parent, name = dest, ""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.dereference = follow

        def owner(info: tarfile.TarInfo) -> tarfile.TarInfo:
            if not archive:  # as docker cp: files belong to the container's root unless -a
                info.uid = info.gid = 0
                info.uname = info.gname = ""
            return info

        if name:
            tar.add(src, arcname=name, filter=owner)
        else:
            for entry in sorted(os.listdir(src)):
                tar.add(os.path.join(src, entry), arcname=entry, filter=owner)
    t.api.put_archive(c.id, parent, buf.getvalue())
