"""Secrets and configs at run time, as Docker Compose v2 (2.40) applies them on a single engine.

A `file:` source is a read-only bind mount of the host file (`Mounts`, in the create body): at
`/run/secrets/<source>` (a relative `target` goes under /run/secrets) for a secret, at `/<source>` (or
`/<target>`) for a config. `uid`/`gid`/`mode` cannot apply to a bind mount: Compose warns and ignores them.

An `environment:` (secrets, configs) or `content:` (configs) source never touches the host's disk: just
before a container starts, its content is sent into the container as a one-file tar (PUT
/containers/{id}/archive at "/"), owned uid:gid (default 0:0) with `mode` (default 0444). A variable
that is unset is Compose's error at that moment, never an empty file.

`external: true` and the Swarm-only `driver`/`template_driver` are errors, in Compose's words.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from composer._typecheck import TYPE_CHECKING
from composer.digest import sha256
from composer.errors import ComposerError
from composer.model import Project, Service
from composer.model.parts import FileRef
from composer.model.project import Resource

if TYPE_CHECKING:
    from typing import Any, Literal

    Kind = Literal["secret", "config"]

SECRETS_DIR = "/run/secrets/"
DEFAULT_MODE = 0o444
# On containers composer creates: the digest of the injected contents (composer's own label: Compose's
# config hash does not cover them, and must stay equal to Compose's so the two tools converge)
INJECTED_HASH_LABEL = "io.composer.injected-hash"


class FileRefError(ComposerError):
    """Compose's own words about a secret or config; printed without a "service X:" prefix."""


@dataclass(frozen=True)
class InjectedFile:
    """One file written into a container before it starts."""

    target: str  # as the tar entry's name (absolute, or relative to "/")
    content: bytes
    uid: int
    gid: int
    mode: int

    @property
    def keeps_owner(self) -> bool:
        """Compose asks the engine to keep the archive's owner only when uid or gid was given."""
        return self.uid != 0 or self.gid != 0


def _uses(project: Project, service: Service) -> Iterator[tuple[Kind, FileRef, Resource]]:
    for kind, refs, defined in (
        ("secret", service.secrets, project.secrets),
        ("config", service.configs, project.configs),
    ):
        for ref in refs:
            resource = defined.get(ref.source)
            if resource is not None:
                yield kind, ref, resource  # type: ignore[misc]


def _check(kind: Kind, resource: Resource) -> None:
    if resource.external:
        raise FileRefError(f"unsupported external {kind} {resource.name}")
    if resource.driver:
        raise FileRefError(f"Docker Compose does not support {kind}s.*.driver")
    if resource.other.get("template_driver"):
        raise FileRefError(f"Docker Compose does not support {kind}s.*.template_driver")


def mount_target(kind: Kind, ref: FileRef) -> str:
    """Where a bind-mounted source appears in the container."""
    target = ref.target or ""
    if not target:
        return (SECRETS_DIR if kind == "secret" else "/") + ref.source
    if target.startswith("/"):
        return target
    return (SECRETS_DIR if kind == "secret" else "/") + target


def _injected(kind: Kind, resource: Resource) -> bool:
    """Written into the container (not a bind mount): secrets by environment, configs also by content."""
    if kind == "secret":
        return bool(resource.environment)
    return bool(resource.environment or resource.content)


def mounts(project: Project, service: Service) -> list[dict[str, object]]:
    """The `Mounts` entries of the file sources, after checking every reference (external ...). A target
    that a service volume already mounts keeps the volume, as Compose does."""
    taken = {m.target for m in service.volumes}
    out: dict[str, dict[str, object]] = {}
    for kind, ref, resource in _uses(project, service):
        _check(kind, resource)
        if _injected(kind, resource):
            continue
        target = mount_target(kind, ref)
        if target in taken or target in out:
            continue
        out[target] = {"Type": "bind", "Source": resource.file or "", "Target": target, "ReadOnly": True}
    return list(out.values())


def warnings(project: Project, service: Service) -> list[str]:
    """Compose's warnings at create time: owner/mode on a bind-mounted source, a missing secret file."""
    import os

    out: list[str] = []
    for kind, ref, resource in _uses(project, service):
        if resource.external or _injected(kind, resource):
            continue
        if ref.uid or ref.gid or ref.mode:
            message = f"{kind}s `uid`, `gid` and `mode` are not supported, they will be ignored"
            if message not in out:
                out.append(message)
        if kind == "secret" and resource.file and not os.path.exists(resource.file):
            out.append(f"secret file {resource.name} does not exist")
    return out


def _owner(value: str | None) -> int:
    if not value:
        return 0
    try:
        return int(value)
    except ValueError:
        raise FileRefError(f'strconv.Atoi: parsing "{value}": invalid syntax') from None


def _mode(value: str | None) -> int:
    if not value:
        return DEFAULT_MODE
    return int(value, 8)


def injected_files(project: Project, service: Service, environment: Mapping[str, str]) -> list[InjectedFile]:
    """The files to write into a container of `service` before it starts (secrets first, then configs,
    each in the service's order). Raises Compose's error for an unset variable."""
    out: list[InjectedFile] = []
    for kind, ref, resource in _uses(project, service):
        _check(kind, resource)
        content = _content(kind, resource, environment)
        if content == "":
            continue
        if service.read_only:
            raise FileRefError(
                f'cannot create {kind} "{resource.name}" in read-only service {service.name}: '
                "`file` is the sole supported option"
            )
        target = ref.target or ""
        if not target:
            target = (SECRETS_DIR if kind == "secret" else "/") + ref.source
        elif kind == "secret" and not target.startswith("/"):
            target = SECRETS_DIR + target
        out.append(
            InjectedFile(
                target=target,
                content=content.encode("utf-8"),
                uid=_owner(ref.uid),
                gid=_owner(ref.gid),
                mode=_mode(ref.mode),
            )
        )
    return out


def _content(kind: Kind, resource: Resource, environment: Mapping[str, str]) -> str:
    if kind == "config" and resource.content:
        return resource.content
    if resource.environment:
        value = environment.get(resource.environment)
        if value is None:
            variable, name = resource.environment, resource.name
            raise FileRefError(f'environment variable "{variable}" required by {kind} "{name}" is not set')
        return value
    return ""


def source_bytes(kind: Kind, resource: Resource, environment: Mapping[str, str]) -> bytes:
    """What a secret or config holds, whatever its source (file, environment, content): for the platforms
    that carry the content themselves (Swarm objects, Kubernetes Secrets and ConfigMaps)."""
    if resource.file is not None:
        try:
            with open(resource.file, "rb") as f:
                return f.read()
        except OSError as exc:
            reason = exc.strerror
            raise FileRefError(f"cannot read {resource.file} for {kind} {resource.key}: {reason}") from None
    if (kind == "config" and resource.content is not None) or resource.environment:
        return _content(kind, resource, environment).encode()
    raise FileRefError(f"{kind} {resource.key} has neither file, environment nor content")


def archive(file: InjectedFile) -> bytes:
    """A tar holding just this file (no directory entries: the engine creates missing parents)."""
    import tarfile  # only when a file is written into a container

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(file.target)
        info.size = len(file.content)
        info.mode = file.mode
        info.uid, info.gid = file.uid, file.gid
        info.mtime = int(time.time())
        tar.addfile(info, io.BytesIO(file.content))
    return buf.getvalue()


def content_digest(project: Project, service: Service, environment: Mapping[str, str]) -> str:
    """A digest of what would be written into the service's containers, so a changed secret value
    recreates the containers that carry the old one. Empty when nothing is written, or when a variable
    is unset (nothing to compare: starting reports it, and a running container is left alone as Compose
    leaves it)."""
    h = sha256()
    found = False
    for kind, ref, resource in _uses(project, service):
        if resource.external or not _injected(kind, resource):
            continue
        if kind == "config" and resource.content:
            value: str | None = resource.content
        else:
            value = environment.get(resource.environment or "")
        if value is None:
            return ""
        h.update(f"{kind}\0{ref.source}\0{ref.target or ''}\0{len(value)}\0".encode())
        h.update(value.encode("utf-8"))
        found = True
    return h.hexdigest() if found else ""


def write_into(api: Any, container_id: str, files: list[InjectedFile]) -> None:
    """Send each file into the (not yet started) container, as Compose does: one archive per file,
    extracted at "/", owners kept only when uid or gid was given."""
    for file in files:
        data = archive(file)
        api.put_archive_owned(container_id, "/", data, file.keeps_owner)
