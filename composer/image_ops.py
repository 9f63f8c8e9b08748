"""Pull, push and build a project's service images through the Engine API (docker-py's streams).

Shared by the `pull`, `push` and `build` commands. Each operation reads the engine's JSON message stream
to its end; an `error` message becomes one ComposerError line naming the service.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TextIO

from composer.errors import ComposerError
from composer.model import Project, Service
from composer.reference import parse_image_ref

log = logging.getLogger(__name__)


def split_ref(ref: str) -> tuple[str, str]:
    """ "host:5000/app:1" -> ("host:5000/app", "1"); no tag means latest; a digest stays in the name."""
    parsed = parse_image_ref(ref)
    if parsed.digest:
        return ref, ""
    return parsed.repository, parsed.tag or "latest"


def drain(stream: Iterable[Any], doing: str, echo: TextIO | None = None) -> str:
    """Read a JSON message stream to the end; returns the last `aux.ID` (a build's image id) if any."""
    image_id = ""
    for item in stream:
        if not isinstance(item, Mapping):
            continue
        if item.get("error") or item.get("errorDetail"):
            message = item.get("error") or (item.get("errorDetail") or {}).get("message", "")
            raise ComposerError(f"{doing}: {str(message).strip()}")
        if echo is not None and item.get("stream"):
            echo.write(str(item["stream"]))
            echo.flush()
        aux = item.get("aux")
        if isinstance(aux, Mapping) and aux.get("ID"):
            image_id = str(aux["ID"])
    return image_id


def pull(api: Any, ref: str, service: str) -> None:
    from composer.client import engine_errors

    name, tag = split_ref(ref)
    with engine_errors(f"service {service}: pulling {ref}"):
        drain(api.pull(name, tag=tag or None, stream=True, decode=True), f"service {service}: pulling {ref}")


def push(api: Any, ref: str, service: str) -> None:
    from composer.client import engine_errors

    name, tag = split_ref(ref)
    with engine_errors(f"service {service}: pushing {ref}"):
        drain(api.push(name, tag=tag or None, stream=True, decode=True), f"service {service}: pushing {ref}")


@dataclass(frozen=True)
class BuildOptions:
    no_cache: bool = False
    pull: bool = False
    build_args: Mapping[str, str] | None = None  # --build-arg, over the file's args
    quiet: bool = False


def build(
    api: Any, project: Project, svc: Service, working_dir: str, opts: BuildOptions, echo: TextIO | None
) -> str:
    """Build the service's image, tagged as it runs (`image:` or project-service); returns the image id."""
    from composer.client import engine_errors
    from composer.spec import image_ref

    spec = svc.build
    if spec is None:
        raise ComposerError(f"service {svc.name} has no build section")
    context = spec.context if os.path.isabs(spec.context) else os.path.join(working_dir, spec.context)
    if not os.path.isdir(context):
        raise ComposerError(f"service {svc.name}: build context {spec.context} is not a directory")
    args = {k: str(v) for k, v in spec.args.items() if v is not None}
    args.update(opts.build_args or {})
    ref = image_ref(project, svc)
    doing = f"service {svc.name}: building {ref}"
    labels = spec.other.get("labels")
    with engine_errors(doing):
        stream = api.build(
            path=context,
            dockerfile=spec.dockerfile or "Dockerfile",
            tag=ref,
            buildargs=args or None,
            target=spec.target,
            nocache=opts.no_cache,
            pull=opts.pull,
            rm=True,
            decode=True,
            labels=dict(labels) if isinstance(labels, Mapping) else None,
        )
        image_id = drain(stream, doing, None if opts.quiet else echo)
        if not image_id:
            image_id = str(api.inspect_image(ref)["Id"])
    log.debug("built service=%s ref=%s id=%s", svc.name, ref, image_id)
    return image_id
