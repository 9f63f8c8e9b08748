"""The loaded project kept between runs, so a repeated `ps`, `port`, `logs`, `config -q` or no-change `up`
does not parse YAML, validate the schema and normalize again (~40 ms of a ~90 ms `ps`).

An entry is found by what the load was asked (the options, the working directory, composer's version) and
is used only when everything the load depended on is unchanged:
- every path the loader read or probed (composer.loader.inputs) stats the same: type, inode, size,
  mtime and ctime; a path that was absent (an `.env`, an override file) is still absent;
- the variables the load can have read have the same values (or are still unset): every name that occurs
  as a word in a file it read (interpolation, `environment: [NAME]`, build args, `.env` references),
  every COMPOSE_* variable, PWD and HOME;
- the loader's own source files are the ones that wrote the entry.
Anything else is a miss: the project is loaded as usual and the entry rewritten. A load that fails is
not stored (its error is shown again next time); neither is one that read a file changed in the last
two seconds, whose timestamp could hide a second edit within the same clock tick.

Entries live in $XDG_CACHE_HOME/composer/projects (else ~/.cache/composer/projects), one file per
project and options, written atomically (a temporary file renamed over the old one), checksummed: an
entry that cannot be read or does not check out is ignored and rewritten. COMPOSER_NO_PROJECT_CACHE=1
turns the cache off.
"""

from __future__ import annotations

import marshal
import os
import sys
import time
from collections.abc import Iterable, Mapping

from composer import cachefiles
from composer._codecache import cache_dir
from composer._typecheck import TYPE_CHECKING
from composer.loader.loaded import LoadedProject, LoadOptions

if TYPE_CHECKING:
    from typing import Any

_FORMAT = 1
_MAGIC = b"composer-project\x01"
_MAX_ENTRIES = 256  # projects x option sets; the oldest entries go first
_SETTLE_NS = 2_000_000_000  # inputs changed more recently than this are not cached (see above)
_STDIN = "-"  # as a file name: the project is read from stdin (composer.loader.discovery.STDIN)
_ALWAYS_READ = ("PWD", "HOME")  # read by the loader whatever the files say (and COMPOSE_*)
# the modules whose code decides what a load gives (the model is built from the stored canonical form)
_CODE = ("loader", "canonical", "errors.py", "projectcache.py", "__init__.py")

Stat = tuple[int, int, int, int, int, int] | None


def enabled(environ: Mapping[str, str]) -> bool:
    return not environ.get("COMPOSER_NO_PROJECT_CACHE")


def load(opts: LoadOptions) -> LoadedProject:
    """`composer.loader.pipeline.load_project(opts)`, from the cache when nothing it depends on changed."""
    if not enabled(opts.environ):
        return _load(opts)
    locator = _locator(opts)
    path = _entry_path(locator, opts.environ)
    loaded = _read(path, locator, opts)
    if loaded is not None:
        return loaded
    from composer.loader.inputs import recording

    with recording() as inputs:
        loaded = _load(opts)
    _store(path, locator, opts, loaded, inputs.paths, inputs.texts)
    return loaded


def _load(opts: LoadOptions) -> LoadedProject:
    from composer.loader.pipeline import load_project

    return load_project(opts)


def _locator(opts: LoadOptions) -> tuple[Any, ...]:
    return (
        _FORMAT,
        sys.version,
        tuple(opts.files),
        opts.project_directory,
        opts.project_name,
        tuple(opts.env_files),
        tuple(opts.profiles),
        opts.interpolate,
        tuple(opts.services),
        opts.working_dir,
    )


def _entry_path(locator: tuple[Any, ...], environ: Mapping[str, str]) -> str:
    return cachefiles.entry_path(os.path.join(cache_dir(environ), "projects"), locator)


def _stat(path: str) -> Stat:
    try:
        st = os.stat(path)
    except OSError:  # absent (or unreadable): what matters is that it stays so
        return None
    return (st.st_mode, st.st_ino, st.st_dev, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _code_stamp() -> tuple[tuple[str, int, int], ...]:
    here = os.path.dirname(os.path.abspath(__file__))  # the package (the version is in __init__.py's stamp)
    stamp: list[tuple[str, int, int]] = []
    for name in _CODE:
        path = os.path.join(here, name)
        if name.endswith(".py"):
            st = os.stat(path)
            stamp.append((name, st.st_mtime_ns, st.st_size))
            continue
        for entry in sorted(os.scandir(path), key=lambda e: e.name):
            if entry.name.endswith(".py"):
                st = entry.stat()
                stamp.append((f"{name}/{entry.name}", st.st_mtime_ns, st.st_size))
    return tuple(stamp)


def _variables(environ: Mapping[str, str], words: frozenset[str]) -> tuple[tuple[str, str], ...]:
    """The (name, value) pairs of the variables the load can have read; unset ones are absent."""
    return tuple(
        sorted(
            (k, v) for k, v in environ.items() if k in words or k.startswith("COMPOSE_") or k in _ALWAYS_READ
        )
    )


def _words(texts: Iterable[str]) -> frozenset[str]:
    import re

    word = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
    found: set[str] = set()
    for text in texts:
        found.update(word.findall(text))
    return frozenset(found)


def _shell(opts: LoadOptions) -> dict[str, str]:
    return {"PWD": opts.working_dir, **opts.environ}  # as composer.loader.pipeline.shell_environment


# ---- reading ----


def _read(path: str, locator: tuple[Any, ...], opts: LoadOptions) -> LoadedProject | None:
    body = cachefiles.read(path, _MAGIC)
    if body is None:
        return None
    try:
        entry = marshal.loads(body)
        if not _still_valid(entry, locator, opts):
            return None
        return _loaded(entry["payload"], opts)
    except Exception:  # a damaged or foreign entry, whatever it holds, is a miss (it is rewritten)
        return None


def _still_valid(entry: dict[str, Any], locator: tuple[Any, ...], opts: LoadOptions) -> bool:
    if entry["locator"] != locator:
        return False
    if any(_stat(p) != s for p, s in entry["inputs"]):
        return False
    if os.path.realpath(entry["payload"]["working_dir"]) != entry["real_working_dir"]:
        return False  # a directory on the way became a symlink (the loader warns about that)
    if _variables(opts.environ, entry["words"]) != entry["variables"]:
        return False
    return bool(entry["code"] == _code_stamp())


def _loaded(payload: dict[str, Any], opts: LoadOptions) -> LoadedProject:
    from composer.errors import Location

    canonical = payload["canonical"]
    environment = _shell(opts)
    for key, value in payload["env_file_values"].items():
        environment.setdefault(key, value)
    environment["COMPOSE_PROJECT_NAME"] = payload["name"]
    return LoadedProject(
        canonical=canonical,
        name=payload["name"],
        working_dir=payload["working_dir"],
        config_files=tuple(payload["config_files"]),
        environment=environment,
        marks={k: Location(*v) for k, v in payload["marks"].items()},
        profiles=tuple(payload["profiles"]),
        all_profiles=frozenset(payload["all_profiles"]),
        disabled_services=tuple(payload["disabled_services"]),
        warnings=tuple(payload["warnings"]),
    )


# ---- writing ----


def _store(
    path: str,
    locator: tuple[Any, ...],
    opts: LoadOptions,
    loaded: LoadedProject,
    paths: list[str],
    texts: list[str],
) -> None:
    if _STDIN in paths:  # `-f -`: nothing on disk says when it changes
        return
    inputs = [(p, _stat(p)) for p in paths]
    settled = time.time_ns() - _SETTLE_NS
    if any(s is not None and max(s[4], s[5]) > settled for _, s in inputs):
        return
    shell = _shell(opts)
    words = _words(texts)
    entry = {
        "locator": locator,
        "inputs": inputs,
        "real_working_dir": os.path.realpath(loaded.working_dir),
        "words": words,
        "variables": _variables(opts.environ, words),
        "code": _code_stamp(),
        "payload": {
            "canonical": loaded.canonical,
            "name": loaded.name,
            "working_dir": loaded.working_dir,
            "config_files": loaded.config_files,
            # the shell's variables are taken afresh on a hit; those only the env files set are kept
            "env_file_values": {
                k: v for k, v in loaded.environment.items() if k not in shell and k != "COMPOSE_PROJECT_NAME"
            },
            "marks": {k: (m.file, m.line, m.column) for k, m in loaded.marks.items()},
            "profiles": loaded.profiles,
            "all_profiles": tuple(sorted(loaded.all_profiles)),
            "disabled_services": loaded.disabled_services,
            "warnings": loaded.warnings,
        },
    }
    try:
        body = marshal.dumps(entry)
    except ValueError:  # a value marshal cannot keep: this project is loaded each time
        return
    cache_home = os.path.dirname(cache_dir(opts.environ))
    cachefiles.write(path, _MAGIC, body, cache_home=cache_home, limit=_MAX_ENTRIES)
