"""Attached `up`: the services' logs interleaved with coloured `name |` prefixes (composer.logs, the same
follower as `logs -f`, so containers recreated or scaled up meanwhile are followed too) until every
attached container has exited; `name exited with code N` notes; --abort-on-container-exit and
--exit-code-from. Ctrl-C or SIGTERM ends it through composer.cli.teardown."""

from __future__ import annotations

import logging
import queue
import signal
import sys
import time
from types import FrameType
from typing import TYPE_CHECKING, Any

from composer.client import engine_errors

if TYPE_CHECKING:
    from composer.containers import ProjectContainer
    from composer.execute import Context
    from composer.model import Project
    from composer.reconcile import UpOptions
    from composer.session import Session

log = logging.getLogger(__name__)

IDLE_GRACE = 1.0  # seconds with no stream open and nothing running before `up` ends (a recreate's gap)
POLL = 0.2


def attached_services(project: Project, args: dict[str, Any], upopts: UpOptions) -> set[str]:
    attach = set(args["--attach"]) or set(upopts.services) or set(project.services)
    attach -= set(args["--no-attach"])
    if not args["--attach"]:  # `attach: false` in the file hides a service unless --attach names it
        attach = {s for s in attach if s not in project.services or project.services[s].attach is not False}
    return attach


def _terminate(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # SIGTERM ends an attached `up` as Ctrl-C does


def follow_project(session: Session, args: dict[str, Any], ctx: Context, upopts: UpOptions) -> int:
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        return _follow(session, args, ctx, upopts)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _follow(session: Session, args: dict[str, Any], ctx: Context, upopts: UpOptions) -> int:
    from composer.cli import teardown
    from composer.containers import display_name, list_containers
    from composer.logs import LogFormat, LogPrinter, LogStreamer
    from composer.presenter import use_color

    api = session.engine.client
    attach = sorted(attached_services(session.project, args, upopts))
    started = set(ctx.started)
    # what this `up` started (also when it already exited: a one-shot's output and exit are shown) and
    # what was running before and left unchanged (followed from now on, as Compose attaches to it)
    containers = [
        c for c in list_containers(api, session.name, attach, all=True) if c.id in started or c.running
    ]
    if not containers:
        return 0
    fmt = LogFormat(
        color=not args["--no-color"] and use_color(session.options.ansi), prefix=not args["--no-log-prefix"]
    )
    names = sorted(display_name(c, session.name) for c in containers)
    printer = LogPrinter(sys.stdout, fmt, names)
    ended: queue.Queue[ProjectContainer] = queue.Queue()
    streamer = LogStreamer(api, session.name, printer, follow=True, on_end=ended.put)
    sys.stdout.write(f"Attaching to {', '.join(names)}\n")
    sys.stdout.flush()
    exit_from = args["--exit-code-from"]
    aborting = bool(args["--abort-on-container-exit"] or exit_from)
    code = 0
    try:
        streamer.watch(attach)
        for c in containers:
            streamer.add(c, tail=None if c.id in started else 0)
        idle_since: float | None = None
        while True:
            try:
                c = ended.get(timeout=POLL)
            except queue.Empty:
                if streamer.active():
                    idle_since = None
                    continue
                alive = list_containers(api, session.name, attach)
                for running in alive:
                    streamer.resume(running)
                if alive:
                    idle_since = None
                elif idle_since is None:
                    idle_since = time.monotonic()
                elif time.monotonic() - idle_since >= IDLE_GRACE:
                    break
                continue
            exit_code = _exit_code(session, c.id)
            if exit_code is None:
                continue  # still running (a broken stream: resumed above) or removed under us
            name = display_name(c, session.name)
            printer.note(name, f"{name} exited with code {exit_code}")
            if exit_from and c.service == exit_from:
                code = exit_code
            if aborting:
                if not exit_from and exit_code:
                    code = exit_code
                streamer.close()
                sys.stdout.write("Aborting on container exit...\n")
                sys.stdout.flush()
                teardown.abort(session, ctx, upopts)
                break
    except KeyboardInterrupt:
        streamer.close()
        return teardown.interrupted(session, ctx, upopts)
    finally:
        streamer.close()
    if exit_from and code == 0:
        found = [c for c in list_containers(api, session.name, [exit_from], all=True)]
        code = (_exit_code(session, found[0].id) or 0) if found else 0
    return code


def _exit_code(session: Session, cid: str) -> int | None:
    """The container's exit code once it has stopped; None while it runs or when it is gone."""
    try:
        with engine_errors("inspecting a container"):
            state = session.engine.client.inspect_container(cid)["State"]
    except Exception as exc:
        log.debug("inspect failed container=%s error=%s", cid, exc)
        return None
    if state.get("Running") or state.get("Restarting"):
        return None
    return int(state.get("ExitCode") or 0)
