"""Removing images with Docker's untag/conflict rules (moby's image_delete.go), and pruning.

Conflicts: hard ones (dependent child images, running containers) even `force` cannot override; soft
ones (a stopped container uses it, it is named in several repositories) need `force`.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from engine.errors import Conflict, InvalidParameter
from engine.images import timefmt
from engine.images.layers import chain_ids
from engine.images.reference import Reference

if TYPE_CHECKING:
    from engine.images.store import ImageStore

log = logging.getLogger(__name__)

InUse = Callable[[str], list[str]]
Records = list[dict[str, str]]

_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s)")


def _short(value: str) -> str:
    return value.split(":", 1)[-1][:12]


def _conflict(image_id: str, hard: bool, message: str) -> Conflict:
    force = "cannot be forced" if hard else "must be forced"
    return Conflict(f"conflict: unable to delete {_short(image_id)} ({force}) - {message}")


def _check(store: ImageStore, image_id: str, *, soft: bool, active_refs: bool, in_use: InUse,
           running: InUse | None) -> tuple[Conflict, bool] | None:
    """The first conflict for deleting `image_id`, with whether it came from a container using it."""
    if store.children(image_id):
        return _conflict(image_id, True, "image has dependent child images"), False
    users = in_use(image_id)
    live = running(image_id) if running is not None else []
    if live:
        return _conflict(image_id, True, f"image is being used by running container {_short(live[0])}"), True
    if soft and active_refs and store.refs(image_id):
        return _conflict(image_id, False, "image is referenced in multiple repositories"), False
    if soft and users:
        message = f"image is being used by stopped container {_short(users[0])}"
        return _conflict(image_id, False, message), True
    return None


def _single_reference(refs: list[Reference]) -> bool:
    """At most one tag, and every reference in one repository."""
    tags = [r for r in refs if r.digest is None]
    return len(tags) <= 1 and len({r.name for r in refs}) <= 1


def remove(store: ImageStore, ref: str, *, force: bool, prune: bool, in_use: InUse,
           running: InUse | None = None) -> Records:
    image_id, named = store.resolve(ref)
    records: Records = []
    refs = store.refs(image_id)
    quiet = False
    if named is not None:
        if not force and _single_reference(refs):
            users = in_use(image_id)
            if users:
                raise Conflict(
                    f'conflict: unable to remove repository reference "{ref}" (must force) - container '
                    f"{_short(users[0])} is using its referenced image {_short(image_id)}"
                )
        store.untag(named)
        records.append({"Untagged": named.familiar()})
        refs = store.refs(image_id)
        if named.digest is None and not any(r.digest is None and r.name == named.name for r in refs):
            # the last tag of a repository takes that repository's digest references with it
            for r in [r for r in refs if r.digest is not None and r.name == named.name]:
                store.untag(r)
                records.append({"Untagged": r.familiar()})
            refs = store.refs(image_id)
        if refs:
            return records
        quiet = True
    elif _single_reference(refs):
        found = _check(store, image_id, soft=not force, active_refs=False, in_use=in_use, running=running)
        if found is not None:
            raise found[0]
        for r in refs:
            store.untag(r)
            records.append({"Untagged": r.familiar()})
    _delete(store, image_id, records, force=force, prune=prune, quiet=quiet, in_use=in_use, running=running)
    return records


def _delete(store: ImageStore, image_id: str, records: Records, *, force: bool, prune: bool, quiet: bool,
            in_use: InUse, running: InUse | None) -> None:
    found = _check(store, image_id, soft=not force, active_refs=True, in_use=in_use, running=running)
    if found is not None:
        conflict, used = found
        if quiet and (store.refs(image_id) or used):
            return  # an untag that leaves a used image in place is not an error (Docker keeps it too)
        raise conflict
    image = store.get(image_id)
    parent = image.parent
    for r in store.refs(image_id):
        records.append({"Untagged": r.familiar()})
    freed = store.delete_image(image_id)
    records.append({"Deleted": image_id})
    # Docker names deleted layers by chain id, top-most first
    chain = dict(zip(image.diff_ids, chain_ids(image.diff_ids), strict=True))
    records.extend({"Deleted": chain.get(d, d)} for d in sorted(freed, key=lambda d: -image.diff_ids.index(d)
                                                                if d in image.diff_ids else 0))
    log.info("image deleted id=%s layers_freed=%d", image_id, len(freed))
    if prune and parent and store.exists(parent) and not store.refs(parent):
        with contextlib.suppress(Conflict):
            _delete(store, parent, records, force=False, prune=True, quiet=True, in_use=in_use,
                    running=running)


def _parse_until(value: str) -> float:
    """`until` filter: Unix seconds, an RFC 3339 time, or a Go duration ago ("24h", "1h30m")."""
    try:
        return float(value)
    except ValueError:
        pass
    if re.fullmatch(r"(?:\d+(?:\.\d+)?(?:h|ms|m|s))+", value):
        total = 0.0
        for amount, unit in _DURATION_RE.findall(value):
            total += float(amount) * {"h": 3600, "m": 60, "s": 1, "ms": 0.001}[unit]
        return time.time() - total
    seconds = timefmt.to_unix(value)
    if seconds == 0:
        raise InvalidParameter(f"invalid filter 'until={value}'")
    return float(seconds)


def _label_match(labels: dict[str, str], spec: str) -> bool:
    key, sep, value = spec.partition("=")
    return key in labels and (not sep or labels[key] == value)


def prune(
    store: ImageStore, *, all_unused: bool, filters: dict[str, list[str]], in_use: InUse
) -> dict[str, Any]:
    """Delete dangling images (or, with all_unused, every image no container uses)."""
    for key in filters:
        if key not in ("dangling", "label", "label!", "until"):
            raise InvalidParameter(f"invalid filter '{key}'")
    dangling_values = filters.get("dangling", [])
    if dangling_values:
        if dangling_values[-1].lower() not in ("true", "false", "1", "0"):
            raise InvalidParameter(f"invalid filter 'dangling={dangling_values[-1]}'")
        all_unused = dangling_values[-1].lower() in ("false", "0")
    until = min((_parse_until(v) for v in filters.get("until", [])), default=None)
    deleted: Records = []
    reclaimed = 0
    before = {d: store.layers.get(d).size for d in store.layers.diff_ids()}
    for image in store.list():
        if store.children(image.id) or in_use(image.id):
            continue
        if not all_unused and (image.repo_tags or image.repo_digests):
            continue
        labels = (image.config.get("config") or {}).get("Labels") or {}
        if not all(_label_match(labels, s) for s in filters.get("label", [])):
            continue
        if any(_label_match(labels, s) for s in filters.get("label!", [])):
            continue
        if until is not None and timefmt.to_unix(image.config.get("created")) >= until:
            continue
        records: Records = []
        for r in store.refs(image.id):
            store.untag(r)
            records.append({"Untagged": r.familiar()})
        try:
            _delete(store, image.id, records, force=False, prune=True, quiet=False, in_use=in_use,
                    running=None)
        except Conflict as exc:
            log.info("prune skipped image=%s reason=%s", image.id, exc.message)
        deleted.extend(records)
    reclaimed = sum(size for d, size in before.items() if not store.layers.has(d))
    return {"ImagesDeleted": deleted or None, "SpaceReclaimed": reclaimed}
