"""`extends`: a service built on another one, from the same file or another file.

As in Compose v2: `extends.file` is relative to the directory the extending file is loaded from
(the project directory for the project's own files); the other file is parsed and interpolated
with the project's environment but neither validated nor included; the base's relative paths are
made absolute against its own file's directory; chains are followed and cycles reported.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from typing import Any

from composer.errors import ConfigError
from composer.loader.interpolate import interpolate
from composer.loader.merge import merge_at
from composer.loader.paths import rebase_service
from composer.loader.yamlsrc import parse_documents, read_file

Chain = tuple[tuple[str, str], ...]


class ExtendsResolver:
    def __init__(self, environ: Mapping[str, str], do_interpolate: bool, warnings: list[str]) -> None:
        self.environ = environ
        self.do_interpolate = do_interpolate
        self.warnings = warnings
        self._files: dict[str, dict[str, Any]] = {}

    def apply(self, data: dict[str, Any], filename: str, base_dir: str) -> dict[str, Any]:
        """`data` with every service's `extends` resolved (a new dict; `data` is untouched)."""
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
            raise ConfigError("circular reference: " + ", ".join(steps))
        ref, other = self._target(name, service["extends"])
        if other is None:
            if ref not in services:
                raise ConfigError(f'cannot extend service "{name}" in {filename}: service "{ref}" not found')
            src_services, src_file, src_dir = services, filename, base_dir
        else:
            src_file = other if os.path.isabs(other) else os.path.join(base_dir, other)
            src_services = self._load(src_file, name)
            if ref not in src_services:
                raise ConfigError(
                    f'cannot extend service "{name}" in {filename}: service "{ref}" not found in {other}'
                )
            src_dir = os.path.dirname(src_file)
        base = self._service(ref, src_services, src_file, src_dir, (*chain, link))
        if base is None:
            return service
        base = copy.deepcopy(base)
        if other is not None:
            base = rebase_service(base, src_dir)
        merged = merge_at(base, service, ("services", "x"))
        merged.pop("extends", None)
        services[name] = merged
        return merged

    @staticmethod
    def _target(name: str, extends: Any) -> tuple[str, str | None]:
        if isinstance(extends, str):
            return extends, None
        if isinstance(extends, dict) and isinstance(extends.get("service"), str):
            file = extends.get("file")
            return extends["service"], file if isinstance(file, str) else None
        raise ConfigError(f"extends.{name}.service is required")

    def _load(self, path: str, name: str) -> dict[str, Any]:
        """The services of another file (its own `extends` are resolved when used)."""
        path = os.path.abspath(path)
        if path not in self._files:
            merged: dict[str, Any] = {}
            for doc in parse_documents(read_file(path), path):
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
