"""Kubernetes object names and the labels composer puts on every object it writes."""

from __future__ import annotations

import hashlib
import re

_INVALID = re.compile(r"[^a-z0-9-]+")
MAX_LABEL = 63


def dns_label(text: str) -> str:
    """An RFC 1123 label (what Service, container and port names must be): lower case, `_`/`.` -> `-`,
    at most 63 characters (a long name keeps a hash of the whole so two never meet)."""
    name = _INVALID.sub("-", text.lower()).strip("-") or "x"
    if len(name) > MAX_LABEL:
        digest = hashlib.sha256(text.encode()).hexdigest()[:8]
        name = f"{name[: MAX_LABEL - 9].rstrip('-')}-{digest}"
    return name


def selector(project: str, service: str) -> dict[str, str]:
    """The labels that pick a service's pods (and every object composer writes for it)."""
    return {"app.kubernetes.io/name": dns_label(service), "app.kubernetes.io/part-of": dns_label(project)}


def object_labels(project: str, service: str | None = None) -> dict[str, str]:
    labels = {"app.kubernetes.io/part-of": dns_label(project), "app.kubernetes.io/managed-by": "composer"}
    if service is not None:
        labels = {**selector(project, service), "app.kubernetes.io/managed-by": "composer"}
    return labels
