"""A service's `security_opt` as the Engine API takes it, read the way Docker Compose v2 reads it.

A seccomp profile is named by a file (relative to the project directory), but the API wants the profile's
JSON itself; `systempaths=unconfined` is not an engine option: it clears MaskedPaths and ReadonlyPaths.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from composer.errors import ComposerError

BUILT_IN_PROFILES = ("unconfined", "builtin")


@dataclass(frozen=True)
class SecurityOptions:
    """A service's security options as the engine takes them."""

    security_opt: tuple[str, ...]
    unconfined_paths: bool  # systempaths=unconfined


def resolve_security_opts(options: tuple[str, ...], project_dir: str) -> SecurityOptions:
    resolved: list[str] = []
    unconfined_paths = False
    for opt in options:
        if opt == "systempaths=unconfined":
            unconfined_paths = True
            continue
        key, sep, value = opt.partition("=")
        if not sep and key != "no-new-privileges":
            key, sep, value = opt.partition(":")
            if not sep:
                raise ComposerError(f'Invalid security-opt: "{opt}"')
        if key == "seccomp" and value not in BUILT_IN_PROFILES:
            resolved.append(f"seccomp={_profile_json(value, project_dir)}")
        else:
            resolved.append(opt)
    return SecurityOptions(tuple(resolved), unconfined_paths)


def _profile_json(name: str, project_dir: str) -> str:
    try:
        with open(os.path.join(project_dir, name), encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ComposerError(f"opening seccomp profile ({name}) failed: {reason}") from None
    try:
        profile = json.loads(text)
    except ValueError as exc:
        raise ComposerError(f"compacting json for seccomp profile ({name}) failed: {exc}") from None
    return json.dumps(profile, separators=(",", ":"))
