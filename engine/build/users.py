"""`--chown=user:group` resolved against the image's own /etc/passwd and /etc/group, inside its root."""

from __future__ import annotations

from pathlib import Path

from engine.build.paths import scoped
from engine.errors import InvalidParameter


def _lookup(root: Path, file: str, name: str) -> tuple[int, int] | None:
    try:
        text = scoped(root, file).read_text(errors="replace")
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    for line in text.splitlines():
        fields = line.split(":")
        if len(fields) >= 4 and fields[0] == name:
            try:
                return int(fields[2]), int(fields[3])
            except ValueError:
                return None
    return None


def resolve_owner(root: Path, spec: str) -> tuple[int, int]:
    user, _, group = spec.partition(":")
    if user.isdigit():
        uid, gid = int(user), int(user)
    else:
        found = _lookup(root, "/etc/passwd", user)
        if found is None:
            raise InvalidParameter(
                f"unable to convert uid/gid chown string to host mapping: can't find uid for "
                f"user {user}: no such user: {user}"
            )
        uid, gid = found
    if group:
        if group.isdigit():
            gid = int(group)
        else:
            g = _lookup(root, "/etc/group", group)
            if g is None:
                raise InvalidParameter(
                    f"unable to convert uid/gid chown string to host mapping: can't find gid "
                    f"for group {group}: no such group: {group}"
                )
            gid = g[0]
    return uid, gid
