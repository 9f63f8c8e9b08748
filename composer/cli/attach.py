"""Attached `up`: the services' logs interleaved with coloured `service-N  | ` prefixes, until every
attached container exits. Ctrl-C stops what this `up` started (dependents first, each with its own stop
signal and grace period); a second Ctrl-C kills them. --abort-on-container-exit and --exit-code-from."""

from __future__ import annotations

import queue
import sys
import threading
from typing import TYPE_CHECKING, Any

from composer import labels as L
from composer.client import engine_errors
from composer.presenter import use_color

if TYPE_CHECKING:
    from composer.execute import Context
    from composer.reconcile import UpOptions
    from composer.session import Session

COLORS = ("36", "33", "32", "35", "34", "96", "93", "92", "95", "94")


def _prefix(labels: dict[str, str], fallback: str) -> str:
    service = labels.get(L.SERVICE)
    return f"{service}-{labels.get(L.CONTAINER_NUMBER, '1')}" if service else fallback


def follow_project(session: Session, args: dict[str, Any], ctx: Context, upopts: UpOptions) -> int:
    from composer.observe import list_containers

    api = session.engine.client
    project = session.project
    attach = set(args["--attach"]) or set(upopts.services) or set(project.services)
    attach -= set(args["--no-attach"])
    if not args["--attach"]:
        attach = {
            s for s in attach if project.services.get(s) is None or project.services[s].attach is not False
        }
    containers = [c for c in list_containers(api, session.name, oneoff=False) if c.service in attach]
    color = use_color("never" if args["--no-color"] else session.options.ansi)
    width = max((len(_prefix(dict(c.labels), c.name)) for c in containers), default=0)
    events: queue.Queue[tuple[str, str, str]] = queue.Queue()  # (kind, container id, text)
    started = set(ctx.started)

    def pump(cid: str, prefix: str, fresh: bool) -> None:
        try:
            stream = api.logs(cid, stream=True, follow=True, tail="all" if fresh else 0)
            pending = b""
            for chunk in stream:
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    events.put(("line", cid, line.decode(errors="replace")))
            if pending:
                events.put(("line", cid, pending.decode(errors="replace")))
        except Exception as exc:  # the stream breaking ends this container's output, nothing more
            events.put(("line", cid, f"(log stream ended: {exc})"))
        events.put(("exit", cid, ""))

    prefixes: dict[str, str] = {}
    for i, c in enumerate(sorted(containers, key=lambda c: c.name)):
        label = _prefix(dict(c.labels), c.name).ljust(width)
        prefixes[c.id] = f"\x1b[{COLORS[i % len(COLORS)]}m{label}  |\x1b[0m " if color else f"{label}  | "
        threading.Thread(target=pump, args=(c.id, prefixes[c.id], c.id in started), daemon=True).start()
    if not containers:
        return 0
    sys.stdout.write(
        f"Attaching to {', '.join(sorted(_prefix(dict(c.labels), c.name) for c in containers))}\n"
    )
    sys.stdout.flush()
    exit_from = args["--exit-code-from"]
    abort = bool(args["--abort-on-container-exit"] or exit_from)
    live = {c.id for c in containers}
    by_id = {c.id: c for c in containers}
    code = 0
    try:
        while live:
            kind, cid, text = events.get()
            if kind == "line":
                if args["--no-log-prefix"]:
                    sys.stdout.write(text + "\n")
                else:
                    sys.stdout.write(prefixes[cid] + text + "\n")
                sys.stdout.flush()
                continue
            live.discard(cid)
            exit_code = _exit_code(session, cid)
            c = by_id[cid]
            sys.stdout.write(f"{c.name} exited with code {exit_code}\n")
            sys.stdout.flush()
            if exit_from and c.service == exit_from:
                code = exit_code
            if abort:
                if not exit_from and exit_code:
                    code = exit_code
                sys.stdout.write("Aborting on container exit...\n")
                _stop_started(session, ctx, upopts)
                break
    except KeyboardInterrupt:
        sys.stderr.write("Gracefully stopping... (press Ctrl+C again to force)\n")
        try:
            _stop_started(session, ctx, upopts)
        except KeyboardInterrupt:
            _kill_started(session, ctx)
        return 130
    if exit_from and code == 0:
        code = _exit_code(session, next((c.id for c in containers if c.service == exit_from), ""))
    return code


def _exit_code(session: Session, cid: str) -> int:
    if not cid:
        return 0
    try:
        with engine_errors("inspecting a container"):
            return int(session.engine.client.inspect_container(cid)["State"].get("ExitCode") or 0)
    except Exception:
        return 0


def _stop_started(session: Session, ctx: Context, upopts: UpOptions) -> None:
    """Stop the project's running containers in reverse dependency order (each with its grace period)."""
    from composer.execute import execute
    from composer.observe import Observed, list_containers
    from composer.reconcile import plan_stop

    containers = tuple(
        c for c in list_containers(session.engine.client, session.name, oneoff=False) if c.running
    )
    plan = plan_stop(session.project, Observed(session.name, containers), upopts.services, upopts.timeout)
    execute(plan, ctx)


def _kill_started(session: Session, ctx: Context) -> None:
    from composer.observe import list_containers

    for c in list_containers(session.engine.client, session.name, oneoff=False):
        if c.running:
            try:
                with engine_errors(f"killing {c.name}"):
                    session.engine.client.kill(c.id)
                ctx.progress.event("Container", c.name, "Killed")
            except Exception:
                continue
