"""What listing images computes over the store: Docker's image filters (`GET /images/json`), the intermediate
images `docker images` hides, and the bytes of layers images share (`shared-size`, `system df`)."""

from __future__ import annotations

import collections
import re
from collections.abc import Callable, Iterable
from typing import Protocol

from engine.errors import InvalidParameter, NotFound
from engine.images import timefmt
from engine.images.store import Image

IMAGE_FILTERS = {"dangling", "label", "reference", "before", "since", "until"}


# ---- dates and labels ---------------------------------------------------------------------------


def created_ns(image: Image) -> int:
    """The config's `created` in nanoseconds: before/since compare at full precision, as dockerd does."""
    raw = image.config.get("created") or ""
    frac = re.search(r"T\d\d:\d\d:\d\d\.(\d+)", raw)
    return timefmt.to_unix(raw) * 1_000_000_000 + (int((frac.group(1) + "0" * 9)[:9]) if frac else 0)


def image_labels(image: Image) -> dict[str, str]:
    return dict((image.config.get("config") or {}).get("Labels") or {})


# ---- filters ------------------------------------------------------------------------------------


def _path_match(pattern: str, name: str) -> bool:
    """Go's path.Match as Docker uses it for `reference`: `*` and `?` never cross a `/`."""
    rx = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            rx.append("[^/]*")
        elif c == "?":
            rx.append("[^/]")
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                raise InvalidParameter(f"invalid reference filter {pattern!r}: syntax error in pattern")
            body = pattern[i + 1 : end]
            rx.append("[" + ("^" + body[1:] if body.startswith("^") else body) + "]")
            i = end
        else:
            rx.append(re.escape(c))
        i += 1
    return re.fullmatch("".join(rx), name) is not None


def _repo_name(ref: str) -> str:
    """`name:tag` or `name@digest` -> `name`."""
    if "@" in ref:
        return ref.split("@", 1)[0]
    return ref.rsplit(":", 1)[0] if ":" in ref.rsplit("/", 1)[-1] else ref


def matching_refs(refs: Iterable[str], patterns: tuple[str, ...]) -> list[str]:
    """The refs a `reference` filter keeps: the pattern matches the repository name or the whole ref."""
    return [r for r in refs if any(_path_match(p, _repo_name(r)) or _path_match(p, r) for p in patterns)]


def _reference_matches(image: Image, patterns: tuple[str, ...]) -> bool:
    return bool(matching_refs(image.repo_tags, patterns) or matching_refs(image.repo_digests, patterns))


def _labels_match(labels: dict[str, str], wanted: tuple[str, ...]) -> bool:
    for want in wanted:
        key, sep, value = want.partition("=")
        if key not in labels or (sep and labels[key] != value):
            return False
    return True


def _bool_filter(values: tuple[str, ...], key: str) -> bool:
    if len(values) != 1 or values[0].lower() not in ("true", "false", "1", "0"):
        raise InvalidParameter(f"invalid filter '{key}={','.join(values)}'")
    return values[0].lower() in ("true", "1")


def select(
    images: Iterable[Image], filters: dict[str, tuple[str, ...]], lookup: Callable[[str], Image]
) -> list[Image]:
    """Docker's image filters: AND across keys, OR within a key (except label, which is AND)."""
    unknown = set(filters) - IMAGE_FILTERS
    if unknown:
        raise InvalidParameter(f"invalid filter '{sorted(unknown)[0]}'")
    dangling = _bool_filter(filters["dangling"], "dangling") if "dangling" in filters else None
    before = min((created_ns(lookup(r)) for r in filters.get("before", ())), default=None)
    since = max((created_ns(lookup(r)) for r in filters.get("since", ())), default=None)
    until = timefmt.timestamp_ns(filters["until"][0], "until") if filters.get("until") else None
    out = []
    for image in images:
        created = created_ns(image)
        if dangling is not None and (not image.repo_tags) != dangling:
            continue
        if "label" in filters and not _labels_match(image_labels(image), filters["label"]):
            continue
        if "reference" in filters and not _reference_matches(image, filters["reference"]):
            continue
        if before is not None and created >= before:
            continue
        if since is not None and created <= since:
            continue
        if until is not None and created > until:
            continue
        out.append(image)
    return out


def hide_intermediate(chosen: list[Image], images: list[Image]) -> list[Image]:
    """Without `all`, dockerd leaves out nameless images that have children: a build's intermediate steps.
    A nameless image nothing builds on (dangling) is still listed, as `<none>`."""
    parents = {image.parent for image in images if image.parent}
    return [i for i in chosen if i.repo_tags or i.repo_digests or i.id not in parents]


# ---- layer sharing ------------------------------------------------------------------------------


class Sized(Protocol):
    @property
    def size(self) -> int: ...


class Layers(Protocol):
    """What layer sharing reads of engine.images.layers.LayerStore."""

    def get(self, diff_id: str) -> Sized: ...


def layer_sharing(layers: Layers, images: list[Image]) -> tuple[dict[str, int], int]:
    """Per image id, the bytes of its layers other images use too; and the size of all distinct layers."""
    users: collections.Counter[str] = collections.Counter()
    for image in images:
        users.update(set(image.diff_ids))
    sizes = {}
    for diff_id in users:
        try:
            sizes[diff_id] = int(layers.get(diff_id).size)
        except NotFound:  # removed meanwhile
            sizes[diff_id] = 0
    shared = {i.id: sum(sizes[d] for d in set(i.diff_ids) if users[d] > 1) for i in images}
    return shared, sum(sizes.values())
