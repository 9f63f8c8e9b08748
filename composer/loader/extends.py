"""`extends`: a service built on another one, from the same file or another file.

As in Compose v2: `extends.file` is relative to the directory the extending file is loaded from
(the project directory for the project's own files); the other file is parsed and interpolated
with the project's environment but neither validated nor included; the base's relative paths are
made absolute against its own file's directory; chains are followed and cycles reported.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from composer.errors import ConfigError
from composer.loader.inputs import note
from composer.loader.interpolate import interpolate
from composer.loader.merge import merge_at
from composer.loader.paths import is_remote, rebase_service
from composer.loader.pathtable import copy_tree
from composer.loader.yamlsrc import Marks, parse_documents, path_str, read_file

Chain = tuple[tuple[str, str], ...]


class ExtendsResolver:
    def __init__(self, environ: Mapping[str, str], do_interpolate: bool, warnings: list[str]) -> None:
        self.environ = environ
        self.do_interpolate = do_interpolate
        self.warnings = warnings
        self._files: dict[str, dict[str, Any]] = {}
        self._marks: dict[str, Marks] = {}

    def _error(self, message: str, filename: str, name: str) -> ConfigError:
        """An error located at the `extends` of service `name` in `filename`."""
        marks = self._marks.get(filename, {})
        path = ("services", name, "extends")
        location = marks.get(path) or marks.get(path[:2])
        return ConfigError(message, location=location, key_path=path_str(path))

    def apply(self, data: dict[str, Any], filename: str, base_dir: str, marks: Marks) -> dict[str, Any]:
        """`data` with every service's `extends` resolved (a new dict; `data` is untouched)."""
        self._marks[filename] = marks
        services = data.get("services")
        if not isinstance(services, dict):
            return data
        services = dict(services)
        for name in list(services):
            self._service(name, services, filename, base_dir, ())
        return {**data, "services": services}

    def _service(
        self, name: str, services: dict[str, Any], filename: str, base_dir: str, chain: Chain
    ) -> Any:
        service = services.get(name)
        if service is None or not isinstance(service, dict) or "extends" not in service:
            return service
        link = (filename, name)
        if link in chain:
            steps = [f"{chain[0][1]} in {chain[0][0]}"] + [
                f"extends {s} in {f}" for f, s in (*chain[1:], link)
            ]
            raise self._error("circular reference: " + ", ".join(steps), filename, name)
        ref, other = self._target(name, service["extends"], filename)
        if other is None:
            if ref not in services:
                raise self._error(
                    f'cannot extend service "{name}" in {filename}: service "{ref}" not found', filename, name
                )
            src_services, src_file, src_dir = services, filename, base_dir
        else:
            if is_remote(other):
                raise self._error(f"remote extends is not supported: {other}", filename, name)
            src_file = other if os.path.isabs(other) else os.path.join(base_dir, other)
            src_services = self._load(src_file, name, filename)
            if ref not in src_services:
                raise self._error(
                    f'cannot extend service "{name}" in {filename}: service "{ref}" not found in {other}',
                    filename,
                    name,
                )
            src_dir = os.path.dirname(src_file)
        base = self._service(ref, src_services, src_file, src_dir, (*chain, link))
        if base is None:  # a base with no body: nothing to merge, and `extends` stays (its file absolute)
            if other is not None and isinstance(service["extends"], dict):
                service["extends"] = {**service["extends"], "file": os.path.normpath(src_file)}
            return service
        base = copy_tree(base)
        if other is not None:
            base = rebase_service(base, src_dir)
        merged = merge_at(base, service, ("services", "x"))
        merged.pop("extends", None)
        services[name] = merged
        return merged

    def _target(self, name: str, extends: Any, filename: str) -> tuple[str, str | None]:
        if isinstance(extends, str):
            return extends, None
        if isinstance(extends, dict) and isinstance(extends.get("service"), str):
            file = extends.get("file")
            return extends["service"], file if isinstance(file, str) else None
        raise self._error(f"extends.{name}.service is required", filename, name)

    def _load(self, path: str, name: str, by: str) -> dict[str, Any]:
        """The services of another file (its own `extends` are resolved when used)."""
        path = os.path.abspath(path)
        note(path)
        if not os.path.isfile(path):
            raise self._error(f'cannot extend service "{name}" in {by}: open {path}: no such file', by, name)
        if path not in self._files:
            self._marks[path] = {}
            merged: dict[str, Any] = {}
            for doc in parse_documents(read_file(path), path):
                self._marks[path].update(doc.marks)
                data = doc.data
                if self.do_interpolate:
                    data = interpolate(data, self.environ, doc.marks, self.warnings)
                services = data.get("services")
                if services is None:
                    raise ConfigError(f'cannot extend service "{name}" in {path}: no services section')
                if not isinstance(services, dict):
                    raise ConfigError(f'cannot extend service "{name}" in {path}: services must be a mapping')
                merged.update(services)
            self._files[path] = merged
        return self._files[path]
