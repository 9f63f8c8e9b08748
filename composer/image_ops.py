"""Pull, push and build a project's service images through the Engine API (JSON message streams).

Shared by the `pull`, `push` and `build` commands. Each operation reads the engine's JSON message stream
to its end; an `error` message becomes one ComposerError line naming the service.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Mapping
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


def drain(
    stream: Iterable[Any],
    doing: str,
    echo: TextIO | None = None,
    report: Callable[[Mapping[str, Any]], None] | None = None,
) -> str:
    """Read a JSON message stream to the end; returns the last `aux.ID` (a build's image id) if any.
    `report` sees every message (pull_reporter/push_reporter: Compose's per-layer progress lines)."""
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
        if report is not None:
            report(item)
        aux = item.get("aux")
        if isinstance(aux, Mapping) and aux.get("ID"):
            image_id = str(aux["ID"])
    return image_id


_LAYER_DONE = {"Download complete", "Already exists", "Pull complete"}
_LAYER_BYTES = {"Downloading", "Extracting", "Verifying Checksum"}


def pull_reporter(progress: Any, parent: str) -> Callable[[Mapping[str, Any]], None]:
    return lambda message: _pull_event(progress, parent, message)


def push_reporter(progress: Any, ref: str) -> Callable[[Mapping[str, Any]], None]:
    return lambda message: _push_event(progress, ref, message)


def _pull_event(progress: Any, parent: str, message: Mapping[str, Any]) -> None:
    """A pull message about one layer (it has an id and a progressDetail) as a child event: status and
    bar as the docker CLI prints them, byte counts for the parent's bars, done when the layer is."""
    from composer.progress import DONE, WORKING, layer_bar

    detail = message.get("progressDetail")
    if not message.get("id") or not isinstance(detail, Mapping):
        return  # "Pulling from ...", digests, statuses: not a layer
    status = str(message.get("status") or "")
    current, total = int(detail.get("current") or 0), int(detail.get("total") or 0)
    percent, state = 0, WORKING
    if status in _LAYER_BYTES and total > 0:
        percent = current * 100 // total
    elif status in _LAYER_BYTES:
        current = total = 0
    elif status in _LAYER_DONE:
        percent, state = 100, DONE
    if status not in _LAYER_BYTES:
        current = total = 0
    progress.emit(str(message["id"]), parent=parent, text=status, status=layer_bar(current, total),
                  state=state, current=current, total=total, percent=percent)


def _push_event(progress: Any, ref: str, message: Mapping[str, Any]) -> None:
    """A push message about one layer as Compose shows it: its own line "Pushing <ref>: <layer>"."""
    from composer.progress import DONE, WORKING, layer_bar

    if not message.get("id"):
        return  # "The push refers to repository ...", the digest line
    status = str(message.get("status") or "")
    detail = message.get("progressDetail")
    current = int(detail.get("current") or 0) if isinstance(detail, Mapping) else 0
    total = int(detail.get("total") or 0) if isinstance(detail, Mapping) else 0
    done = status.lower() in ("pushed", "layer already exists")
    percent = 100 if done else current * 100 // total if total > 0 else 0
    progress.emit(f"Pushing {ref}: {message['id']}", text=status, status=layer_bar(current, total),
                  state=DONE if done else WORKING, current=current, total=total, percent=percent)


def pull(api: Any, ref: str, service: str, progress: Any = None, parent: str = "") -> None:
    """Pull `ref`; with `progress`, its layers are shown under the event `parent`."""
    from composer.client import engine_errors

    name, tag = split_ref(ref)
    doing = f"service {service}: pulling {ref}"
    report = pull_reporter(progress, parent) if progress is not None else None
    with engine_errors(doing):
        drain(api.pull(name, tag=tag or None, stream=True, decode=True), doing, None, report)


def push(api: Any, ref: str, service: str, progress: Any = None) -> None:
    """Push `ref`; with `progress`, a line per layer."""
    from composer.client import engine_errors

    name, tag = split_ref(ref)
    doing = f"service {service}: pushing {ref}"
    report = push_reporter(progress, ref) if progress is not None else None
    with engine_errors(doing):
        drain(api.push(name, tag=tag or None, stream=True, decode=True), doing, None, report)


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
