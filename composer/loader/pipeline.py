"""`load_project`: from command-line options to a typed Project, in Compose v2's order.

discover files and project directory -> read the environment (.env twice, as the reference: once
for COMPOSE_FILE, once in the final project directory) -> project name -> per file and document:
parse, interpolate, extends, include, merge, validate the merged schema -> profiles/selection ->
env_file into environment -> normalize -> consistency -> Project.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from composer.errors import ConfigError
from composer.loader import discovery
from composer.loader.environment import (
    default_env_files,
    read_env_files,
    resolve_service_environment,
    resolve_service_labels,
    with_defaults,
)
from composer.loader.extends import ExtendsResolver
from composer.loader.include import apply_include
from composer.loader.inputs import note
from composer.loader.interpolate import interpolate, substitute
from composer.loader.loaded import LoadedProject, LoadOptions
from composer.loader.merge import enforce_unicity, merge
from composer.loader.paths import own_files
from composer.loader.profiles import active_profiles, apply_profiles
from composer.loader.yamlsrc import Document, Marks, parse_documents, path_str, read_file, strip_tags
from composer.loader.yamltime import plain_timestamps

log = logging.getLogger(__name__)


def shell_environment(opts: LoadOptions) -> dict[str, str]:
    """The caller's variables, with PWD defaulting to the working directory (as the reference)."""
    return {"PWD": opts.working_dir, **opts.environ}


def project_environment(opts: LoadOptions, working_dir: str, known: Mapping[str, str]) -> dict[str, str]:
    """`known` variables, plus those of the env files (`--env-file`, else `.env` in `working_dir`)
    that `known` does not set."""
    files = [discovery.absolute(f, opts.working_dir) for f in opts.env_files]
    files = files or default_env_files(working_dir, known)
    return with_defaults(known, read_env_files(files, known))


class _Loader:
    def __init__(self, opts: LoadOptions, warnings: list[str]) -> None:
        self.opts = opts
        self.warnings = warnings
        self.texts: dict[str, str] = {}
        self.parsed: dict[str, list[Document]] = {}  # parsed once, read for the name and the model

    def text(self, path: str) -> str:
        if path not in self.texts:
            if path == discovery.STDIN:
                self.texts[path] = (
                    self.opts.stdin_text if self.opts.stdin_text is not None else sys.stdin.read()
                )
                note(path)  # a project read from stdin is never cached
            else:
                self.texts[path] = read_file(path)
        return self.texts[path]

    def documents(self, path: str) -> list[Document]:
        if path not in self.parsed:
            self.parsed[path] = parse_documents(self.text(path), path)
        return self.parsed[path]

    def load_model(
        self, files: list[str], working_dir: str, environ: Mapping[str, str], chain: tuple[str, ...]
    ) -> tuple[dict[str, Any], Marks]:
        """Files of one project (the main one or an included one) merged into one raw model."""
        from composer.loader.validate import validate_schema

        model: dict[str, Any] = {}
        stripped: dict[str, Any] = {}  # strip_tags(model), kept for the return value
        marks: Marks = {}
        extends = ExtendsResolver(environ, self.opts.interpolate, self.warnings)
        for path in files:
            for doc in self.documents(path):
                data = doc.data
                if self.opts.interpolate:
                    data = interpolate(data, environ, doc.marks, self.warnings)
                doc_marks = dict(doc.marks)
                # extends first, as the reference: a service cannot extend one it includes
                data = extends.apply(data, path, working_dir, doc.marks)
                data = apply_include(data, working_dir, environ, (*chain, path), self.load_model, doc_marks)
                if isinstance(data.get("services"), dict):
                    data["services"] = {
                        n: own_files(s, working_dir) if isinstance(s, dict) else s
                        for n, s in data["services"].items()
                    }
                previous = model
                model = merge(model, data)
                marks.update(_item_marks_that_still_hold(doc_marks, previous))
                # like the reference, the schema judges the merged model so far, not the file alone
                # (an override may write `image: null`, which the merge ignores)
                stripped = strip_tags(model)
                validate_schema(stripped, marks, path)
                _check_service_bodies(stripped, marks)
                if "version" in doc.data:  # after validation, as the reference warns
                    warning = (
                        f"{path}: the attribute `version` is obsolete, it will be ignored, "
                        "please remove it to avoid potential confusion"
                    )
                    if warning not in self.warnings:
                        self.warnings.append(warning)
        return enforce_unicity(plain_timestamps(stripped)), marks


def _check_service_bodies(model: Mapping[str, Any], marks: Marks) -> None:
    """A service written with no body (`web:` alone) is the reference's validation error."""
    services = model.get("services")
    if not isinstance(services, dict):
        return
    for name, body in services.items():
        if body is None:
            raise ConfigError(f"services.{name} must be a mapping", location=marks.get(("services", name)))


def _item_marks_that_still_hold(doc_marks: Marks, previous: Mapping[str, Any]) -> Marks:
    """A later file's marks, minus those of sequence items appended to a sequence an earlier file
    started: their index in the merged sequence differs, so errors locate at the sequence instead."""
    if not previous:  # the first file: nothing earlier to append to
        return doc_marks
    kept: Marks = {}
    for path, location in doc_marks.items():
        first_index = next((i for i, part in enumerate(path) if isinstance(part, int)), None)
        if first_index is not None and isinstance(_lookup(previous, path[:first_index]), list):
            continue
        kept[path] = location
    return kept


def _lookup(value: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        if isinstance(value, dict) and part in value:
            value = value[part]
        else:
            return None
    return value


def _name_from_files(loader: _Loader, files: Sequence[str], environ: Mapping[str, str], interp: bool) -> str:
    """The last non-empty top-level `name:` of the files, interpolated and normalized."""
    name = ""
    for path in files:
        for doc in loader.documents(path):
            value = doc.data.get("name")
            if isinstance(value, str) and value:
                name = value
    if interp and name:
        name = substitute(name, environ)
    return discovery.normalize_project_name(name)


def _files_and_environment(opts: LoadOptions, warnings: list[str]) -> tuple[list[str], str, dict[str, str]]:
    """Config files, project directory and environment. The env files are read twice, as the
    reference does: from the first guess of the project directory (they may set COMPOSE_FILE), then
    from the final one, earlier values winning."""
    cwd = opts.working_dir
    first_dir = discovery.working_directory(opts.project_directory, opts.files, cwd)
    environ = project_environment(opts, first_dir, shell_environment(opts))
    start = discovery.absolute(opts.project_directory, cwd) if opts.project_directory else cwd
    files = discovery.config_files(opts.files, environ, start, cwd, warnings)
    working_dir = discovery.working_directory(opts.project_directory, files, cwd)
    if working_dir != first_dir:
        environ = project_environment(opts, working_dir, environ)
    return files, working_dir, environ


def _project_name(
    opts: LoadOptions,
    loader: _Loader,
    files: Sequence[str],
    working_dir: str,
    environ: Mapping[str, str],
    warnings: list[str],
) -> str:
    """`-p`, else COMPOSE_PROJECT_NAME (both must be valid as given), else the files' `name:`, else
    the project directory's name (both normalized)."""
    if opts.project_name:
        return discovery.check_project_name(opts.project_name)
    if environ.get("COMPOSE_PROJECT_NAME"):
        return discovery.check_project_name(environ["COMPOSE_PROJECT_NAME"])
    name = _name_from_files(loader, files, environ, opts.interpolate)
    if not name:
        dirname = os.path.basename(working_dir)
        if os.path.basename(os.path.realpath(working_dir)) != dirname:
            warnings.append(
                f'project has been loaded without an explicit name from a symlink. Using name "{dirname}"'
            )
        name = discovery.normalize_project_name(dirname)
    if not name:
        raise ConfigError("project name must not be empty")
    return name


def _with_files_read(name: str, original: Any, environ: Mapping[str, str], marks: Marks) -> dict[str, Any]:
    """The service with `env_file` read into `environment` and `label_file` into `labels`.
    Errors without a place of their own (a missing file) are located at the service's key."""
    service: dict[str, Any] = dict(original or {})
    for key, target, resolve in (
        ("env_file", "environment", lambda: resolve_service_environment(service, environ)),
        ("label_file", "labels", lambda: resolve_service_labels(service)),
    ):
        if service.get(key) is not None or (key == "env_file" and service.get(target) is not None):
            try:
                service[target] = resolve()
            except ConfigError as exc:
                if exc.location is not None:
                    raise
                path = ("services", name, key)
                raise ConfigError(
                    exc.detail, location=marks.get(path) or marks.get(path[:2]), key_path=path_str(path)
                ) from None
        service.pop(key, None)
    return service


def load_project(opts: LoadOptions) -> LoadedProject:
    """Load, merge, normalize and validate the project `opts` describes. Raises ConfigError (carrying
    the warnings found before it)."""
    warnings: list[str] = []
    try:
        return _load(opts, warnings)
    except ConfigError as exc:
        exc.warnings = tuple(warnings)  # printed before the error, as the reference prints them
        raise


def _load(opts: LoadOptions, warnings: list[str]) -> LoadedProject:
    from composer.loader.normalize import NormalizeContext, normalize
    from composer.loader.validate import check_consistency
    from composer.model import Project

    loader = _Loader(opts, warnings)
    files, working_dir, environ = _files_and_environment(opts, warnings)
    name = _project_name(opts, loader, files, working_dir, environ, warnings)
    environ = {**environ, "COMPOSE_PROJECT_NAME": name}

    model, marks = loader.load_model(list(files), working_dir, environ, ())
    if not model:
        raise ConfigError("empty compose file")
    model.pop("include", None)

    profiles = active_profiles(opts.profiles, environ)
    all_services: dict[str, Any] = model.get("services") or {}
    all_profiles = frozenset(
        str(p) for s in all_services.values() if isinstance(s, dict) for p in s.get("profiles") or []
    )
    model = apply_profiles(model, profiles, list(opts.services))
    services = {n: _with_files_read(n, s, environ, marks) for n, s in (model.get("services") or {}).items()}
    model["services"] = services
    disabled = tuple(sorted(n for n in all_services if n not in services))

    ctx = NormalizeContext(project_name=name, project_dir=working_dir, environment=environ, marks=marks)
    canonical = normalize(model, ctx)
    check_consistency(canonical, marks)
    project = Project.from_dict(canonical)
    for warning in warnings:
        log.debug("load warning: %s", warning)
    return LoadedProject(
        canonical=canonical,
        name=name,
        working_dir=working_dir,
        config_files=tuple(files),
        environment=environ,
        marks=marks,
        profiles=tuple(profiles),
        all_profiles=all_profiles,
        disabled_services=disabled,
        warnings=tuple(warnings),
        built=project,
    )
