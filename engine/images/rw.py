"""Container read-write layers: overlayfs over the image's shared layer dirs, never a copy.

`<root>/rw/<container-id>/` holds meta.json (image id, diff_ids), upper/, work/, merged/ (and empty/,
the lower of a scratch container). Mounts run from `<root>` with the short `l/<name>` lower paths so
even many layers fit in the one page of mount options the kernel accepts.
"""

from __future__ import annotations

import logging
import os
import re
import resource
import stat
import tarfile
from collections.abc import Iterator
from pathlib import Path

from engine.errors import InvalidParameter, NotFound, SystemError_
from engine.images.layers import LayerStore
from engine.images.tarsafe import OPAQUE_MARKER, WHITEOUT_PREFIX
from engine.images.tarstream import Sink, add_stream, open_writer
from engine.images.unpack import OPAQUE_XATTR, rmtree
from engine.kernel import mounts
from engine.util.atomic import Sync, atomic_write_json, read_json
from engine.util.trash import Trash

log = logging.getLogger(__name__)

_MNT_DETACH = 2  # umount2(2)


def _syscalls():  # type: ignore[no-untyped-def]
    """libc's mount/umount2 (engine.kernel.syscalls); loaded on first use."""
    from engine.kernel.syscalls import LinuxSyscalls

    return LinuxSyscalls()


_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_EXPORTED_XATTR_PREFIXES = ("user.", "security.", "system.posix_acl_")


class RwLayers:
    def __init__(self, root: Path, layers: LayerStore) -> None:
        self.root = root
        self.layers = layers
        self._dir = root / "rw"
        self._dir.mkdir(parents=True, exist_ok=True)
        self._trash = Trash(self._dir / ".trash", rmtree)  # removed layers, deleted in the background

    def _path(self, container_id: str) -> Path:
        if not _ID_RE.match(container_id):
            raise InvalidParameter(f"invalid container id: {container_id!r}")
        return self._dir / container_id

    def _meta(self, container_id: str) -> dict[str, object]:
        try:
            meta: dict[str, object] = read_json(self._path(container_id) / "meta.json")
            return meta
        except FileNotFoundError:
            raise NotFound(f"no read-write layer for container {container_id}") from None

    def image_of(self, container_id: str) -> str:
        """The image id the layer was made from; "" for none or an unreadable record."""
        try:
            return str(self._meta(container_id).get("image") or "")
        except (NotFound, OSError, ValueError):
            return ""

    def create(self, container_id: str, diff_ids: list[str], image_id: str) -> None:
        path = self._path(container_id)
        for diff_id in diff_ids:
            self.layers.get(diff_id)  # NotFound if an image layer went missing
        for sub in ("upper", "work", "merged", "empty"):
            (path / sub).mkdir(parents=True, exist_ok=True)
        os.chmod(path / "upper", 0o755)
        atomic_write_json(path / "meta.json", {"image": image_id, "diff_ids": diff_ids}, sync=Sync.DATA)

    def referenced_layers(self) -> set[str]:
        used: set[str] = set()
        for meta_path in self._dir.glob("*/meta.json"):
            used.update(read_json(meta_path).get("diff_ids", []))
        return used

    def mount_options(self, container_id: str, base: str = "") -> str:
        """overlay's options with paths relative to the root, or under `base` (the root and a slash)."""
        meta = self._meta(container_id)
        rel = f"{base}rw/{container_id}"
        lowers = [base + link for link in self.layers.lower_links(meta["diff_ids"])]  # type: ignore[arg-type]
        return (f"lowerdir={':'.join(lowers or [f'{rel}/empty'])},upperdir={rel}/upper,workdir={rel}/work,"
                "index=off,redirect_dir=off,metacopy=off")

    def mount(self, container_id: str) -> Path:
        """Mount the container's overlay (idempotent); returns the merged directory.

        mount(2) itself when the options fit a page with absolute paths (the usual case: no `mount` binary
        forked from the daemon, ~5-10 ms per start); with many layers, the `mount` binary run from the root
        with the short relative paths (a threaded daemon cannot chdir for one mount)."""
        merged = self._path(container_id) / "merged"
        if os.path.ismount(merged):
            return merged
        page = resource.getpagesize()
        absolute = self.mount_options(container_id, f"{self.root.resolve()}/")
        if len(absolute) < page:
            try:
                _syscalls().mount("overlay", str(merged), "overlay", 0, absolute)
            except OSError as exc:
                raise SystemError_(f"mounting the read-write layer of {container_id}: {exc}") from None
        else:
            options = self.mount_options(container_id)
            if len(options) >= page:
                raise SystemError_(f"too many layers to mount for container {container_id}")
            try:
                mounts.mount("overlay", "overlay", merged, options, cwd=self.root)
            except mounts.MountFailed as e:
                raise SystemError_(str(e)) from None
        log.info("rw layer mounted container=%s", container_id)
        return merged

    def overlay(self, container_id: str) -> tuple[Path, Path, str]:
        """(merged dir, the directory the options are relative to, the options)."""
        options = self.mount_options(container_id)
        if len(options) >= resource.getpagesize():
            raise SystemError_(f"too many layers to mount for container {container_id}")
        return self._path(container_id) / "merged", self.root, options

    def unmount(self, container_id: str) -> None:
        merged = self._path(container_id) / "merged"
        if not os.path.ismount(merged):
            return
        sc = _syscalls()
        try:
            sc.umount(str(merged), 0)
        except OSError:
            try:
                sc.umount(str(merged), _MNT_DETACH)  # still busy in some namespace: detach it from ours
            except OSError as exc:
                raise SystemError_(f"unmounting the read-write layer of {container_id}: {exc}") from None
        log.info("rw layer unmounted container=%s", container_id)

    def remove(self, container_id: str) -> None:
        path = self._path(container_id)
        if not path.exists():
            return
        self.unmount(container_id)
        if os.path.ismount(path / "merged"):
            raise SystemError_(f"rw layer of {container_id} is still mounted")
        self._trash.discard(path)

    def diff(self, container_id: str) -> Iterator[bytes]:
        """A tar of the upper dir with overlay whiteouts written as OCI whiteouts."""
        self._meta(container_id)
        return _tar_upper(self._path(container_id) / "upper")

    def upper_dir(self, container_id: str) -> Path:
        self._meta(container_id)
        return self._path(container_id) / "upper"

    def paths(self, container_id: str) -> dict[str, str]:
        """GraphDriver.Data as `docker inspect` shows it (LowerDir joined with ':', top-most first)."""
        meta = self._meta(container_id)
        path = self._path(container_id)
        lowers = self.layers.lower_dirs(meta["diff_ids"]) or [path / "empty"]  # type: ignore[arg-type]
        return {"LowerDir": ":".join(str(p) for p in lowers), "MergedDir": str(path / "merged"),
                "UpperDir": str(path / "upper"), "WorkDir": str(path / "work")}

    def size(self, container_id: str) -> int:
        """Bytes of regular files in the rw layer (Docker's SizeRw)."""
        total = 0
        for dirpath, _, filenames in os.walk(self.upper_dir(container_id)):
            for name in filenames:
                st = os.lstat(os.path.join(dirpath, name))
                if stat.S_ISREG(st.st_mode):
                    total += st.st_size
        return total

    def changes(self, container_id: str) -> list[dict[str, object]]:
        """`docker diff`: {"Path", "Kind"} with Kind 0 modified, 1 added, 2 deleted, sorted by path."""
        meta = self._meta(container_id)
        lowers = self.layers.lower_dirs(meta["diff_ids"])  # type: ignore[arg-type]
        upper = self._path(container_id) / "upper"
        out: list[dict[str, object]] = []
        for dirpath, dirnames, filenames in os.walk(upper):
            rel_dir = os.path.relpath(dirpath, upper)
            for name in dirnames + filenames:
                rel = name if rel_dir == "." else os.path.join(rel_dir, name)
                st = os.lstat(os.path.join(dirpath, name))
                if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
                    kind = 2
                else:
                    kind = 0 if _in_lowers(lowers, rel) else 1
                out.append({"Path": "/" + rel, "Kind": kind})
        return sorted(out, key=lambda c: str(c["Path"]))


def _in_lowers(lowers: list[Path], rel: str) -> bool:
    """Whether `rel` is visible in the image's merged view (the top-most layer that knows it decides)."""
    for lower in lowers:
        path = lower / rel
        if os.path.lexists(path):
            st = os.lstat(path)
            return not (stat.S_ISCHR(st.st_mode) and st.st_rdev == 0)
    return False


def _xattrs(path: str) -> dict[str, str]:
    out: dict[str, str] = {}
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return out
    for name in names:
        if name.startswith(_EXPORTED_XATTR_PREFIXES):
            value = os.getxattr(path, name, follow_symlinks=False)
            out["SCHILY.xattr." + name] = value.decode("utf-8", "surrogateescape")
    return out


def _is_opaque(path: str) -> bool:
    try:
        return os.getxattr(path, OPAQUE_XATTR, follow_symlinks=False) == b"y"
    except OSError:
        return False


def _tar_upper(upper: Path) -> Iterator[bytes]:
    sink = Sink()
    with open_writer(sink) as tar:
        for dirpath, dirnames, filenames in os.walk(upper):  # never descends into symlinked dirs
            dirnames.sort()
            rel_dir = os.path.relpath(dirpath, upper)
            for name in sorted(dirnames + filenames):
                arcname = name if rel_dir == "." else os.path.join(rel_dir, name)
                yield from (c for c in _add(tar, sink, os.path.join(dirpath, name), arcname) if c)
    yield sink.take()


def _marker(name: str, st: os.stat_result) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.mtime, info.uid, info.gid = int(st.st_mtime), st.st_uid, st.st_gid
    return info


def _add(tar: tarfile.TarFile, sink: Sink, path: str, arcname: str) -> Iterator[bytes]:
    st = os.lstat(path)
    if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:  # overlay whiteout -> .wh.<name>
        parent, name = os.path.split(arcname)
        tar.addfile(_marker(os.path.join(parent, WHITEOUT_PREFIX + name), st))
        yield sink.take()
        return
    info = tar.gettarinfo(path, arcname)
    info.uname = info.gname = ""
    info.pax_headers = _xattrs(path)
    if not info.isreg() or info.size == 0:
        tar.addfile(info)
        if info.isdir() and _is_opaque(path):
            tar.addfile(_marker(os.path.join(arcname, OPAQUE_MARKER), st))
        yield sink.take()
        return
    with open(path, "rb") as f:
        yield from add_stream(tar, sink, info, f)
