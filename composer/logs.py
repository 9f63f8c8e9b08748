"""Coloured, prefixed, interleaved container logs: what `composer logs` and attached `composer up` print.

API (thread-safe; one reader thread per container, one for engine events):

    printer = LogPrinter(sys.stdout, LogFormat(color=True, prefix=True, timestamps=False))
    streamer = LogStreamer(api, project="demo", printer=printer, follow=True)
    streamer.add(container)            # a composer.containers.ProjectContainer; tail/since from the streamer
    streamer = LogStreamer(..., on_end=callback)  # callback(container) when a stream ends by itself
    streamer.watch(services=())        # also follow containers of the project that start later
                                       # (recreated, scaled up, restarted), from their start on
    streamer.wait()                    # until every stream ended (follow=False) / streamer.close()
    streamer.follow_until_idle(list_running)  # `logs -f`: until none of them runs (2 s grace)
    printer.note("web-1", "web-1 exited with code 0")   # a coloured line without the `|` prefix

`merged_history(api, containers, ...)` returns the past lines of several containers in timestamp order
(`logs --merge`). Prefix format as `docker compose`: the container name without `project-`, padded to one
past the widest name seen so far, then ` | `.
"""

from __future__ import annotations

import datetime
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from composer._log import get_logger
from composer._typecheck import TYPE_CHECKING
from composer.containers import ProjectContainer, container_from_summary, display_name
from composer.labels import PROJECT

if TYPE_CHECKING:
    from typing import Any, TextIO

log = get_logger(__name__)

# ANSI foreground codes in the order names get them; the bold variants follow the plain ones.
_PALETTE = ("36", "33", "32", "35", "34", "36;1", "33;1", "32;1", "35;1", "34;1")


@dataclass(frozen=True)
class LogFormat:
    """How log lines are printed: colours, name prefix, timestamps."""

    color: bool = False
    prefix: bool = True
    timestamps: bool = False


@dataclass(frozen=True)
class LogLine:
    """One line of a container's log."""

    name: str  # the display name (prefix)
    text: str  # without the trailing newline
    timestamp: str = ""  # the engine's RFC 3339 timestamp, "" when unknown

    @property
    def sort_key(self) -> tuple[int, int]:
        return timestamp_key(self.timestamp)


class LogPrinter:
    """Writes lines with a padded, coloured `name |` prefix; names get colours in first-seen order."""

    def __init__(self, out: TextIO, fmt: LogFormat, names: Iterable[str] = ()) -> None:
        self._out = out
        self._fmt = fmt
        self._lock = threading.Lock()
        self._colors: dict[str, str] = {}
        self._width = 0
        for name in names:
            self.register(name)

    def register(self, name: str) -> None:
        with self._lock:
            self._register(name)

    def _register(self, name: str) -> None:
        if name not in self._colors:
            self._colors[name] = _PALETTE[len(self._colors) % len(_PALETTE)]
            self._width = max(self._width, len(name))

    def _paint(self, name: str, text: str) -> str:
        return f"\033[{self._colors[name]}m{text}\033[0m" if self._fmt.color else text

    def line(self, line: LogLine) -> None:
        with self._lock:
            self._register(line.name)
            text = line.text
            if self._fmt.timestamps and line.timestamp:
                text = f"{line.timestamp} {text}"
            if self._fmt.prefix:
                # as the reference: the name padded to one past the widest name seen so far, then " | "
                text = self._paint(line.name, f"{line.name:<{self._width + 1}} |") + " " + text
            self._write(text + "\n")

    def note(self, name: str, text: str) -> None:
        """A line about a container rather than from it (`web-1 exited with code 0`)."""
        with self._lock:
            self._register(name)
            self._write(self._paint(name, text) + "\n")

    def _write(self, text: str) -> None:
        try:
            self._out.write(text)
            self._out.flush()
        except (BrokenPipeError, ValueError):  # reader gone or stream closed: nothing left to tell
            pass


# --- reading one container's log -------------------------------------------------------------------

_TS = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$")


def timestamp_key(stamp: str) -> tuple[int, int]:
    """(unix seconds, nanoseconds) of an RFC 3339 timestamp with up to nanosecond precision; the engine
    trims trailing zeros of the fraction, so the strings do not sort as text."""
    m = _TS.match(stamp)
    if not m:
        return (0, 0)
    zone = "+00:00" if m.group(3) == "Z" else m.group(3)
    seconds = int(datetime.datetime.fromisoformat(m.group(1) + zone).timestamp())
    return (seconds, int((m.group(2) or "0").ljust(9, "0")))


def split_timestamp(raw: str) -> tuple[str, str]:
    stamp, sep, rest = raw.partition(" ")
    if sep and _TS.match(stamp):
        return stamp, rest
    return "", raw


def read_lines(
    api: Any,
    container: ProjectContainer,
    project: str,
    *,
    follow: bool,
    tail: int | None = None,
    since: float | None = None,
    until: float | None = None,
    stream_holder: list[Any] | None = None,
) -> Iterator[LogLine]:
    """The container's log as lines (stdout and stderr interleaved as the engine recorded them)."""
    kwargs: dict[str, Any] = {"stream": True, "follow": follow, "timestamps": True}
    if tail is not None:
        kwargs["tail"] = tail
    if since is not None:
        kwargs["since"] = since
    if until is not None:
        kwargs["until"] = until
    name = display_name(container, project)
    chunks = api.logs(container.id, **kwargs)
    if stream_holder is not None:
        stream_holder.append(chunks)
    pending = b""
    for chunk in chunks:
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for raw in complete:
            stamp, text = split_timestamp(raw.decode(errors="replace").rstrip("\r"))
            yield LogLine(name, text, stamp)
    if pending:
        stamp, text = split_timestamp(pending.decode(errors="replace").rstrip("\r"))
        yield LogLine(name, text, stamp)


def merged_history(
    api: Any,
    containers: Iterable[ProjectContainer],
    project: str,
    *,
    tail: int | None = None,
    since: float | None = None,
    until: float | None = None,
) -> list[LogLine]:
    """All past lines of the containers in timestamp order (stable: one container's order is kept)."""
    lines: list[LogLine] = []
    for c in containers:
        lines.extend(read_lines(api, c, project, follow=False, tail=tail, since=since, until=until))
    return sorted(lines, key=lambda ln: ln.sort_key)


# --- many containers at once ------------------------------------------------------------------------


class LogStreamer:
    """One reader thread per container writing to a shared LogPrinter; optionally follows containers of
    the project that start later (recreate, scale, restart) by watching the engine's events."""

    def __init__(
        self,
        api: Any,
        project: str,
        printer: LogPrinter,
        *,
        follow: bool = True,
        tail: int | None = None,
        since: float | None = None,
        until: float | None = None,
        on_end: Callable[[ProjectContainer], None] | None = None,
    ) -> None:
        self._api = api
        self._on_end = on_end
        self._project = project
        self._printer = printer
        self._follow = follow
        self._tail = tail
        self._since = since
        self._until = until
        self._lock = threading.Lock()
        self._active: dict[str, threading.Thread] = {}
        self._streams: list[Any] = []
        self._closed = threading.Event()
        self._events: Any = None
        self._watcher: threading.Thread | None = None
        self._last: dict[str, tuple[int, int]] = {}  # container id -> its last printed line's time
        self._ended: dict[str, float] = {}  # container id -> when its last stream ended

    def add(
        self, container: ProjectContainer, *, since: float | None = None, tail: int | None = None
    ) -> None:
        """Stream one container (a no-op when it is already streamed)."""
        with self._lock:
            if self._closed.is_set() or container.id in self._active:
                return
            thread = threading.Thread(
                target=self._pump,
                args=(
                    container,
                    self._since if since is None else since,
                    self._tail if tail is None else tail,
                ),
                name=f"logs-{container.name}",
                daemon=True,
            )
            self._active[container.id] = thread
        thread.start()

    def _pump(self, container: ProjectContainer, since: float | None, tail: int | None) -> None:
        log.debug("streaming container=%s since=%s tail=%s", container.name, since, tail)
        try:
            for line in read_lines(
                self._api,
                container,
                self._project,
                follow=self._follow,
                tail=tail,
                since=since,
                until=self._until,
                stream_holder=self._streams,
            ):
                if self._closed.is_set():
                    break
                self._printer.line(line)
                if line.timestamp:
                    self._last[container.id] = line.sort_key
        except Exception as exc:  # a container removed under us, the engine gone: that stream ends
            log.debug("log stream ended container=%s error=%s", container.name, exc)
        finally:
            with self._lock:
                self._active.pop(container.id, None)
                self._ended[container.id] = time.time()
            if self._on_end is not None and not self._closed.is_set():
                self._on_end(container)  # the container stopped (or went away): attached `up` reports it

    def resume(self, container: ProjectContainer) -> None:
        """Stream a container again from where its last stream stopped (a restart), or from its
        beginning when it is new to us (a recreated or scaled-up container)."""
        with self._lock:
            last = self._last.get(container.id)
            ended = self._ended.get(container.id)
        if last is not None:
            self.add(container, since=last[0] + last[1] / 1e9 + 1e-6, tail=-1)
        elif ended is not None:
            self.add(container, since=ended, tail=-1)
        else:
            self.add(container, tail=-1)

    def follow_until_idle(self, running: Callable[[], list[ProjectContainer]], grace: float = 2.0) -> None:
        """Follow until no stream is open and `running()` (the containers to follow) stays empty for
        `grace` seconds: a recreate's gap between stop and start is no reason to leave."""
        idle_since: float | None = None
        while not self._closed.is_set():
            if self.active():
                idle_since = None
            else:
                alive = running()
                for c in alive:
                    self.resume(c)
                if alive:
                    idle_since = None
                elif idle_since is None:
                    idle_since = time.monotonic()
                elif time.monotonic() - idle_since >= grace:
                    return
            time.sleep(0.2)

    def watch(self, services: Iterable[str] = ()) -> None:
        """Follow project containers (of `services`, or all) that start from now on."""
        wanted = set(services)
        self._events = self._api.events(
            decode=True,
            filters={"type": "container", "event": ["start"], "label": [f"{PROJECT}={self._project}"]},
        )
        self._watcher = threading.Thread(target=self._watch, args=(wanted,), name="logs-events", daemon=True)
        self._watcher.start()

    def _watch(self, wanted: set[str]) -> None:
        try:
            for event in self._events:
                if self._closed.is_set():
                    return
                if event.get("Type") != "container" or event.get("Action") != "start":
                    continue
                attrs = (event.get("Actor") or {}).get("Attributes") or {}
                if attrs.get(PROJECT) != self._project:
                    continue
                container = container_from_summary(
                    {
                        "Id": event.get("id") or event["Actor"]["ID"],
                        "Names": [attrs.get("name", "")],
                        "Labels": attrs,
                        "State": "running",
                        "Image": attrs.get("image", ""),
                    }
                )
                if container.oneoff or (wanted and container.service not in wanted):
                    continue
                self.resume(container)
        except Exception as exc:
            log.debug("event watch ended error=%s", exc)

    def active(self) -> int:
        with self._lock:
            return len(self._active)

    def wait(self, timeout: float | None = None) -> bool:
        """Until every container stream ended (and, when watching, forever); True when all ended."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._lock:
                threads = list(self._active.values())
            if not threads and self._watcher is None:
                return True
            if self._closed.is_set():
                return not threads
            for t in threads:
                t.join(0.2 if deadline is None else max(0.0, min(0.2, deadline - time.monotonic())))
            if not threads:
                time.sleep(0.2)
            if deadline is not None and time.monotonic() >= deadline:
                return False

    def close(self) -> None:
        """Stop reading: open streams and the event watch are closed and their threads joined, so no
        reader is still writing to stdout while the interpreter shuts down."""
        self._closed.set()
        for stream in [*self._streams, self._events]:
            if stream is not None and hasattr(stream, "close"):
                try:
                    stream.close()
                except Exception as exc:
                    log.debug("closing a log stream failed error=%s", exc)
        with self._lock:
            threads = [*self._active.values(), *([self._watcher] if self._watcher else [])]
        for thread in threads:
            if thread.ident is not None:  # a Ctrl-C can land between a thread's registration and start
                thread.join(2.0)
