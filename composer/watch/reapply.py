"""A saved project file (or `.env`) re-loaded and converged: services whose configuration changed are
recreated, new ones start, removed ones stop. An invalid edit is reported in the loader's words (file, line,
key) and nothing is touched until the file is fixed."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from composer.errors import ComposerError
from composer.plan import Kind

if TYPE_CHECKING:
    from composer.session import Session
    from composer.watch.actions import Say

log = logging.getLogger(__name__)


def reapply(session: Session, say: Say) -> Session | None:
    """The new session when the edit was applied, None when it was invalid (the old one stays in force)."""
    from composer.reconcile import UpOptions
    from composer.watch.converge import converge

    try:
        fresh = session.reloaded()
    except ComposerError as exc:
        say(f"Project file not applied, the running stack is unchanged: {exc}")
        return None
    try:
        plan = converge(
            fresh,
            UpOptions(
                remove_orphans=True, known_services=fresh.known_services, injected=fresh.injected_digests
            ),
        )
    except ComposerError as exc:
        say(f"Project file change could not be applied: {exc}")
        return fresh
    touched = sorted(
        {
            op.service or op.target
            for op in plan.of_kind(Kind.CREATE_CONTAINER, Kind.REMOVE_CONTAINER, Kind.START_CONTAINER)
        }
    )
    say(f"Project file re-applied: {', '.join(touched) if touched else 'nothing changed'}")
    return fresh
