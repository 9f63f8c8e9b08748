"""Compiled code of the methods `dataclasses` generates, kept between runs (as .pyc files keep modules').

A dataclass's __init__, __repr__, __eq__, __hash__ and, when frozen, __setattr__/__delattr__ are written
as source text and compiled when the class is created: ~0.7 ms per class, ~25 ms of every `up` or `ps`
(a third of what composer itself spends; measured in bench/everyday.py). The text depends only on the
class's fields, so the compiled code can be reused: `install()` gives the `dataclasses` module an `exec`
that looks the text up in a cache (one marshal file per Python version, each entry unmarshalled only when
a class asks for it: loading them all would cost a third of what they save) before compiling, and writes
the file back at exit when something new was compiled.

Nothing changes in what the classes are or do: the same text is compiled by the same compiler; a cache
that cannot be read (missing, corrupt, another Python) is rebuilt, and one that cannot be written only
costs the compile next time. COMPOSER_NO_CODE_CACHE=1 turns it off.
"""

from __future__ import annotations

import builtins
import contextlib
import marshal
import os
import sys
from types import CodeType

from composer._typecheck import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

_MAX_ENTRIES = 2048  # one entry per distinct generated method; composer's classes make ~300
_installed = False


class _Cache:
    def __init__(self, path: str) -> None:
        self.path = path
        self.codes: dict[str, bytes] = {}  # source -> marshalled code, unmarshalled only when used
        self.used: set[str] = set()
        self.added = False
        try:
            with open(path, "rb") as f:
                loaded = marshal.load(f)
            if isinstance(loaded, dict):
                self.codes = {k: v for k, v in loaded.items() if isinstance(k, str) and isinstance(v, bytes)}
        except (OSError, EOFError, ValueError, TypeError):
            pass

    def exec(self, source: Any, globals: Any = None, locals: Any = None, /) -> None:  # noqa: A002
        # only composer's own classes (dataclasses passes the class's module globals): a program that
        # imports composer as a library keeps its own classes out of this file
        if isinstance(source, str) and _ours(globals):
            stored = self.codes.get(source)
            code: CodeType | None = None
            if stored is not None:
                with contextlib.suppress(EOFError, ValueError, TypeError):
                    code = marshal.loads(stored)
            if code is None:
                code = compile(source, "<string>", "exec")
                self.codes[source] = marshal.dumps(code)
                self.added = True
            self.used.add(source)
            source = code
        builtins.exec(source, globals, locals)

    def save(self) -> None:
        if not self.added:
            return
        if len(self.codes) > _MAX_ENTRIES:  # classes changed many times (a checkout being edited)
            self.codes = {k: v for k, v in self.codes.items() if k in self.used}
        tmp = f"{self.path}.{os.getpid()}.tmp"
        try:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            with open(tmp, "wb") as f:
                marshal.dump(self.codes, f)
            os.replace(tmp, self.path)  # atomic: a concurrent reader sees the old file or the new one
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _ours(namespace: Any) -> bool:
    return isinstance(namespace, dict) and str(namespace.get("__name__", "")).startswith("composer")


def cache_dir(environ: Any = os.environ) -> str:
    """The user's cache directory for composer: $XDG_CACHE_HOME/composer, else ~/.cache/composer."""
    base = environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "composer")


def cache_path(environ: Any = os.environ) -> str:
    tag = sys.implementation.cache_tag or "python"
    return os.path.join(cache_dir(environ), f"dataclass-code.{tag}.marshal")


def install() -> None:
    """Route `dataclasses`' compiles through the cache (once per process)."""
    if os.environ.get("COMPOSER_NO_CODE_CACHE") or sys.implementation.cache_tag is None:
        return
    global _installed
    if _installed:
        return
    _installed = True
    import atexit
    import dataclasses

    cache = _Cache(cache_path())
    dataclasses.exec = cache.exec  # type: ignore[attr-defined]  # shadows the builtin for that module only
    atexit.register(cache.save)
