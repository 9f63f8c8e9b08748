"""`--cache-from` images as a step cache, the classic builder's way: a step is a hit when a cache image's
history starts with the parent's history and continues with this step's `created_by`; the hit becomes a new
image of the parent's layers + that step's layer (when it made one), with the config this build computed."""

from __future__ import annotations

import copy
import logging
from collections.abc import Collection, Sequence
from typing import Any

from engine.images import timefmt

log = logging.getLogger(__name__)


def _history(image: Any) -> list[dict[str, Any]]:
    return list((image.config.get("history") or []) if image is not None else [])


def _diff_ids(image: Any) -> list[str]:
    return list(((image.config.get("rootfs") or {}).get("diff_ids") or []) if image is not None else [])


def restore(
    store: Any, parent: Any, candidates: Sequence[Any], created_bys: Collection[str], config: dict[str, Any]
) -> Any:
    """The restored step image, or None when no cache image continues `parent` with this step."""
    p_hist = [h.get("created_by", "") for h in _history(parent)]
    p_diffs = _diff_ids(parent)
    for cand in candidates:
        c_hist = _history(cand)
        c_diffs = _diff_ids(cand)
        n = len(p_hist)
        if len(c_hist) <= n or [h.get("created_by", "") for h in c_hist[:n]] != p_hist:
            continue
        if c_diffs[: len(p_diffs)] != p_diffs:
            continue
        entry = c_hist[n]
        if entry.get("created_by", "") not in created_bys:
            continue
        diffs = list(p_diffs)
        if not entry.get("empty_layer"):
            if len(c_diffs) <= len(p_diffs):
                continue
            diffs.append(c_diffs[len(p_diffs)])
        full: dict[str, Any] = (
            copy.deepcopy(parent.config)
            if parent is not None
            else {"architecture": cand.config.get("architecture", ""), "os": cand.config.get("os", "linux")}
        )
        full["config"] = config
        full["created"] = entry.get("created") or timefmt.now()
        full["history"] = [*_history(parent), dict(entry)]
        full["rootfs"] = {"type": "layers", "diff_ids": diffs}
        log.info("step restored from cache-from image=%s created_by=%s", cand.id, entry.get("created_by"))
        return store.create_image(full, parent=parent.id if parent is not None else "")
    return None
