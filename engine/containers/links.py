"""Legacy container links (HostConfig.Links): their canonical names, the variables a linked container
gets on the default bridge, and `docker rm --link`. Names and addresses on the networks themselves are
engine.network's (hosts entries, the embedded DNS's aliases)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from engine.containers.model import Container
from engine.errors import Conflict, EngineError, InvalidParameter, NotFound

Lookup = Callable[[str], Container]
IGNORED_ENV = ("HOME", "PATH")  # dockerd leaves these out of <ALIAS>_ENV_*: every image has them


def split(link: str) -> tuple[str, str]:
    """"/db:/web/alias", "db:alias" or "db" -> (target name, alias)."""
    target, _, alias = link.partition(":")
    target = target.strip("/")
    return target, alias.rsplit("/", 1)[-1] or target


def normalize(links: list[str], linker: str, lookup: Lookup) -> list[str]:
    """As dockerd records them: "/<target>:/<linker>/<alias>"; the target must exist."""
    out = []
    for link in links:
        target, alias = split(link)
        try:
            found = lookup(target)
        except EngineError as e:
            raise InvalidParameter(f"could not get container for {target}: {e.message}") from None
        out.append(f"/{found.name}:/{linker}/{alias}")
    return out


def environment(c: Container, lookup: Lookup, address_of: Callable[[Container], str]) -> list[str]:
    """The variables of `c`'s links (dockerd sets them for links on the default bridge only):
    <ALIAS>_NAME, <ALIAS>_PORT[_<port>_<proto>[_ADDR|_PORT|_PROTO]] per exposed port, <ALIAS>_ENV_<var>."""
    out: list[str] = []
    for link in c.host_config.get("Links") or []:
        target_name, alias = split(link)
        target = lookup(target_name)
        if target.state.status not in ("running", "paused"):
            raise Conflict(f"Cannot link to a non running container: /{target.name} AS /{c.name}/{alias}")
        prefix = re.sub(r"-", "_", alias.upper())
        ip = address_of(target)
        out.append(f"{prefix}_NAME=/{c.name}/{alias}")
        ports = sorted(_ports(target.config.get("ExposedPorts") or {}))
        if ports and ip:
            port, proto = ports[0]
            out.append(f"{prefix}_PORT={proto}://{ip}:{port}")
            for port, proto in ports:
                key = f"{prefix}_PORT_{port}_{proto.upper()}"
                out += [f"{key}={proto}://{ip}:{port}", f"{key}_ADDR={ip}", f"{key}_PORT={port}",
                        f"{key}_PROTO={proto}"]
        for item in target.config.get("Env") or []:
            key, sep, value = item.partition("=")
            if sep and key not in IGNORED_ENV:
                out.append(f"{prefix}_ENV_{key}={value}")
    return out


def _ports(exposed: dict[str, Any]) -> list[tuple[int, str]]:
    out = []
    for key in exposed:
        port, _, proto = key.partition("/")
        if port.isdigit():
            out.append((int(port), proto or "tcp"))
    return out


def without(c: Container, ref: str) -> list[str]:
    """`DELETE /containers/{ref}?link=1`: c's links without the one named `ref` ("/<linker>/<alias>")."""
    name = "/" + ref.strip("/")
    links = list(c.host_config.get("Links") or [])
    kept = [link for link in links if link.partition(":")[2] != name]
    if len(kept) == len(links):
        raise NotFound(f"No such container: {name[1:]}")
    return kept


def linker_of(ref: str, lookup: Lookup) -> Container:
    """The container a link name ("/<linker>/<alias>") belongs to; a plain container name is no link.
    (The leading "/" may be gone: HTTP servers fold the "//" of `DELETE /containers//web/db`.)"""
    name = ref.strip("/")
    if "/" not in name:
        raise Conflict("Conflict, cannot remove the default link name of the container")
    try:
        return lookup(name.rsplit("/", 1)[0])
    except NotFound:
        raise NotFound(f"No such container: {name}") from None
