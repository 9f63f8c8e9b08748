"""Load for zero-downtime checks: one client doing sequential HTTP GETs (a new connection each) against a
published port in a thread, counting what failed, bounded by a request budget.

    with Hammer(port, limit=5000) as h:
        ...roll out...
    h.failures, h.ok, h.bodies   # failed requests (with their errors), answered ones, distinct answers
"""

from __future__ import annotations

import http.client
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from types import TracebackType


@dataclass
class Hammer:
    port: int
    limit: int = 5000  # requests at most, however long the rollout takes
    host: str = "127.0.0.1"
    ok: int = 0
    failures: list[str] = field(default_factory=list)
    bodies: Counter[str] = field(default_factory=Counter)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _one(self) -> None:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=15)  # slow is not down
        try:
            conn.request("GET", "/")
            resp = conn.getresponse()
            body = resp.read().decode(errors="replace").strip()
            if resp.status != 200:
                self.failures.append(f"HTTP {resp.status}")
            else:
                self.ok += 1
                self.bodies[body] += 1
        except (OSError, http.client.HTTPException) as exc:
            self.failures.append(f"{type(exc).__name__}: {exc}")
        finally:
            conn.close()

    def _run(self) -> None:
        while not self._stop.is_set() and self.ok + len(self.failures) < self.limit:
            self._one()
            time.sleep(0.002)

    @property
    def sent(self) -> int:
        return self.ok + len(self.failures)

    def __enter__(self) -> Hammer:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
