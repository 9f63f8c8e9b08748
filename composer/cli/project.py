"""From the CLI's global options to a loaded project: the one place commands get their project from."""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from composer.cli.options import GlobalOptions

if TYPE_CHECKING:
    from composer.loader.pipeline import LoadedProject


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection for a while: loading and printing a large project allocates many
    small objects and no cycles worth collecting, and the collector's passes cost ~10% of the run."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def load(options: GlobalOptions, *, services: Sequence[str] = (), interpolate: bool = True) -> LoadedProject:
    """Load and validate the project; warnings go to stderr once (also those found before a failure, as
    the reference prints them), errors raise ConfigError."""
    from composer.errors import ConfigError
    from composer.loader.pipeline import LoadOptions, load_project
    from composer.presenter import warn

    environ = dict(options.environ)
    # A shell exports PWD; the reference supplies it when the caller did not, and files use ${PWD}.
    environ.setdefault("PWD", os.getcwd())
    with paused_gc():
        try:
            loaded = load_project(
                LoadOptions(
                    files=options.files,
                    project_directory=options.project_directory,
                    project_name=options.project_name,
                    env_files=options.env_files,
                    profiles=options.profiles,
                    interpolate=interpolate,
                    environ=environ,
                    services=tuple(services),
                    working_dir=os.getcwd(),
                )
            )
        except ConfigError as exc:
            for message in exc.warnings:
                warn(message)
            raise
    for message in loaded.warnings:
        warn(message)
    return loaded
