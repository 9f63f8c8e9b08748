"""Wait until an event stream is subscribed, instead of sleeping and hoping.

A test that starts `composer events` (or `logs -f`, which follows the engine's events) and then makes
the event it expects must not make it before the client has subscribed: on a loaded machine the client's
start can take seconds. The engine counts its event listeners in `GET /info` (NEventsListener, as
dockerd does), so the test polls that count until it went up.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

Info = Callable[[], dict[str, Any]]  # GET /info of the engine the client streams from


def listeners(info: Info) -> int:
    return int(info()["NEventsListener"])


def wait_for_listener(info: Info, before: int, timeout: float = 60.0) -> None:
    """Until the engine has more event listeners than `before` (raises after `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    while listeners(info) <= before:
        if time.monotonic() > deadline:
            raise TimeoutError(f"no new event listener within {timeout:.0f} s")
        time.sleep(0.05)
