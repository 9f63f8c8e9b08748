"""Resolve Docker's `User` string against the image's /etc/passwd and /etc/group.

Accepted forms as Docker's: "", "name", "uid", "name:group", "uid:gid", "name:gid", "uid:group".
A numeric user or group need not exist in the files; a name must. Supplementary groups come from
/etc/group membership only when no group was given (runc's GetExecUser rule).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.errors import InvalidParameter

_MAX_ID = 2**31 - 1


@dataclass(frozen=True)
class ResolvedUser:
    """A container's `User` resolved against its image's /etc/passwd and /etc/group."""

    uid: int
    gid: int
    additional_gids: tuple[int, ...] = ()
    home: str = "/"
    name: str = ""


def _read_entries(path: Path) -> list[list[str]]:
    try:
        text = path.read_text(errors="replace")
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return []
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            rows.append(line.split(":"))
    return rows


def _as_id(text: str) -> int | None:
    if not text.isdigit():
        return None
    value = int(text)
    if value > _MAX_ID:
        raise InvalidParameter(f"uids and gids must be in range 0-{_MAX_ID}")
    return value


def resolve_user(rootfs: Path, user: str) -> ResolvedUser:
    user = (user or "").strip()
    user_arg, _, group_arg = user.partition(":")
    passwd = [r for r in _read_entries(rootfs / "etc/passwd") if len(r) >= 4]
    groups = [r for r in _read_entries(rootfs / "etc/group") if len(r) >= 3]

    # Defaults when nothing matches: root, as Docker does for an empty User.
    uid, gid, home, name = 0, 0, "/", ""
    if user_arg == "":
        user_arg = "0"
    wanted_uid = _as_id(user_arg)
    match = None
    for row in passwd:
        if (wanted_uid is None and row[0] == user_arg) or (wanted_uid is not None and row[2] == user_arg):
            match = row
            break
    if match is not None:
        name = match[0]
        uid = int(match[2]) if match[2].isdigit() else 0
        gid = int(match[3]) if match[3].isdigit() else 0
        home = match[5] if len(match) > 5 and match[5] else "/"
    elif wanted_uid is not None:
        uid = wanted_uid
    else:
        raise InvalidParameter(f"unable to find user {user_arg}: no matching entries in passwd file")

    additional: list[int] = []
    if group_arg:
        wanted_gid = _as_id(group_arg)
        found = None
        for row in groups:
            if (wanted_gid is None and row[0] == group_arg) or (
                wanted_gid is not None and row[2] == group_arg
            ):
                found = row
                break
        if found is not None and found[2].isdigit():
            gid = int(found[2])
        elif wanted_gid is not None:
            gid = wanted_gid
        else:
            raise InvalidParameter(f"unable to find group {group_arg}: no matching entries in group file")
    elif name:
        for row in groups:
            members = [m for m in row[3].split(",") if m] if len(row) > 3 else []
            if name in members and row[2].isdigit() and int(row[2]) not in additional:
                additional.append(int(row[2]))
    return ResolvedUser(uid=uid, gid=gid, additional_gids=tuple(additional), home=home, name=name)
