"""Attached `up`: the services' logs interleaved with coloured `name |` prefixes (composer.logs, the same
follower as `logs -f`, so containers recreated or scaled up meanwhile are followed too) until every
attached container has exited; `name exited with code N` notes; --abort-on-container-exit,
--abort-on-container-failure and --exit-code-from. Ctrl-C or SIGTERM ends it through composer.cli.teardown."""

from __future__ import annotations

import contextlib
import queue
import signal
import sys
import threading
import time
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING, Any

from composer._log import get_logger
from composer.client import engine_errors

if TYPE_CHECKING:
    from collections.abc import Iterator

    from composer.containers import ProjectContainer
    from composer.execute import Context
    from composer.model import Project
    from composer.reconcile import UpOptions
    from composer.session import Session

log = get_logger(__name__)

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


@contextlib.contextmanager
def sigterm_as_ctrl_c(attached: bool = True) -> Iterator[None]:
    """An attached `up` takes SIGTERM as Ctrl-C, from its start to its end, as Compose's does; a detached
    one keeps the default."""
    if not attached:
        yield
        return
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def follow_project(session: Session, args: dict[str, Any], ctx: Context, upopts: UpOptions) -> int:
    with sigterm_as_ctrl_c():
        return _follow(session, args, ctx, upopts)


def _follow(session: Session, args: dict[str, Any], ctx: Context, upopts: UpOptions) -> int:
    from composer.cli import teardown
    from composer.containers import display_name, list_containers
    from composer.logs import LogFormat, LogLine, LogPrinter, LogStreamer
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
    if ctx.hook_output is not None:  # post_start lines so far, and pre_stop lines of an abort later
        ctx.hook_output.connect(lambda name, line: printer.line(LogLine(name, line)))
    cascade = Cascade.from_args(args)
    aborter: threading.Thread | None = None
    abort_failed: list[BaseException] = []

    def abort() -> None:
        try:
            teardown.abort(session, ctx, upopts)
        except BaseException as exc:  # reported once the loop is done, as the one error line
            abort_failed.append(exc)

    try:
        streamer.watch(attach)
        for c in _in_start_order(containers, ctx.started):
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
                if aborter is None:
                    for running in alive:
                        streamer.resume(running)
                if alive or (aborter is not None and aborter.is_alive()):
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
            if cascade.exited(c.service, exit_code) and aborter is None:
                # Compose keeps printing while it stops the rest: every container's last lines and
                # its "exited with code N" still appear, so the stop runs beside this loop
                _say_aborting(session)
                aborter = threading.Thread(target=abort, name="abort", daemon=True)
                aborter.start()
    except KeyboardInterrupt:
        streamer.close()
        return teardown.interrupted(session, ctx, upopts)
    finally:
        streamer.close()
        if aborter is not None:
            aborter.join()
    if abort_failed:
        raise abort_failed[0]
    code = cascade.code
    if cascade.exit_from and cascade.code is None:
        found = list_containers(api, session.name, [cascade.exit_from], all=True)
        code = (_exit_code(session, found[0].id) or 0) if found else 0
    return code or 0


@dataclass
class Cascade:
    """What ends an attached `up` early and which exit code it returns, as Compose's log printer
    decides: --abort-on-container-exit stops everything at the first exit, --abort-on-container-failure
    at the first non-zero exit; the code is that container's, or --exit-code-from's service's."""

    on_exit: bool = False
    on_failure: bool = False
    exit_from: str | None = None
    code: int | None = None

    @classmethod
    def from_args(cls, args: dict[str, Any]) -> Cascade:
        exit_from = args.get("--exit-code-from")
        on_failure = bool(args.get("--abort-on-container-failure"))
        # --exit-code-from implies --abort-on-container-exit unless failures alone should abort
        on_exit = bool(args.get("--abort-on-container-exit")) or (bool(exit_from) and not on_failure)
        return cls(on_exit, on_failure, exit_from)

    def exited(self, service: str, exit_code: int) -> bool:
        """Record one container's exit; True when it starts the abort."""
        trigger = self.on_exit or (self.on_failure and exit_code != 0)
        if trigger and self.exit_from is None:
            self.exit_from = service
        if service == self.exit_from:
            self.code = exit_code
        return trigger


def _in_start_order(containers: list[ProjectContainer], started: list[str]) -> list[ProjectContainer]:
    """Containers this `up` started, in the order it started them (so their first lines come in that
    order), then those that were already running."""
    rank = {cid: i for i, cid in enumerate(started)}
    return sorted(containers, key=lambda c: rank.get(c.id, len(rank)))


def _say_aborting(session: Session) -> None:
    from composer.presenter import use_color

    text = "Aborting on container exit..."
    if use_color(session.options.ansi, sys.stderr):
        text = f"\x1b[31m\x1b[1m{text}\x1b[0m"  # Compose's red bold
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


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
