"""What a project load looked at on disk: every file it read and every path whose presence it tested.

The loader's stages call `note()` where they open or probe a path; while `recording()` is active the
notes are kept (composer.projectcache keys a loaded project on them: a later load whose noted paths all
stat the same, absent ones still absent, gives the same project). Outside a recording `note()` does
nothing, so the loader itself does not depend on this.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass
class Inputs:
    paths: list[str] = field(default_factory=list)  # in the order first noted, each once
    texts: list[str] = field(default_factory=list)  # what was read (the variables it names matter)
    _seen: set[str] = field(default_factory=set)

    def add(self, path: str, text: str | None) -> None:
        if path not in self._seen:
            self._seen.add(path)
            self.paths.append(path)
        if text is not None:
            self.texts.append(text)


_active: list[Inputs] = []


@contextlib.contextmanager
def recording() -> Iterator[Inputs]:
    inputs = Inputs()
    _active.append(inputs)
    try:
        yield inputs
    finally:
        _active.remove(inputs)


def note(path: str, text: str | None = None) -> None:
    """The load read `path` (its `text`), or tested whether it exists / what it is."""
    for inputs in _active:
        inputs.add(path, text)
