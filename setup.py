"""Build hooks only (the project's metadata is in pyproject.toml).

- The Compose schema lives at schemas/compose-spec.json in the repository; a built package carries a copy
  at composer/loader/schemas/compose-spec.json, where composer.loader.schema_file looks first.
- The native container monitor (engine/runtime/native/*.c) is compiled here, with the build machine's C
  compiler, into engine/runtime/native/cmon (+ cmon.key, the sources' hash it was built from), so an
  installed wheel runs containers on a machine without a compiler. The wheel is then platform-specific
  (py3-none-<platform>: the binary does not depend on Python's ABI).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
SCHEMA = HERE / "schemas" / "compose-spec.json"
NATIVE = HERE / "engine" / "runtime" / "native"


def _native_module() -> Any:
    """engine/runtime/native/__init__.py loaded on its own (the build env need not import the engine)."""
    spec = importlib.util.spec_from_file_location("_composer_native_build", NATIVE / "__init__.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # registered, as an import would: its dataclasses look themselves up
    spec.loader.exec_module(module)
    return module


class BuildWithSchemaAndMonitor(build_py):  # type: ignore[misc]
    def run(self) -> None:
        super().run()
        if self.editable_mode:  # an editable install reads schemas/ and builds the monitor at run time
            return
        target = Path(self.build_lib) / "composer" / "loader" / "schemas"
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SCHEMA, target / SCHEMA.name)
        self._build_monitor(Path(self.build_lib) / "engine" / "runtime" / "native")

    def _build_monitor(self, out_dir: Path) -> None:
        native = _native_module()
        cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
        if cc is None:
            raise SystemExit("building composer needs a C compiler (cc) for the native container monitor")
        out_dir.mkdir(parents=True, exist_ok=True)
        error = native.compile_monitor(cc, out_dir / "cmon")
        if error:
            raise SystemExit(f"compiling the native container monitor failed: {error}")
        (out_dir / "cmon.key").write_text(native.source_key() + "\n")


def _bdist_wheel() -> Any:
    try:  # setuptools >= 70.1 has its own bdist_wheel; older ones use the `wheel` package's
        from setuptools.command.bdist_wheel import bdist_wheel
    except ImportError:  # pragma: no cover - depends on the build env
        try:
            from wheel.bdist_wheel import bdist_wheel
        except ImportError:  # no wheel support at all: nothing to tag (e.g. a plain `setup.py build`)
            return None

    class PlatformWheel(bdist_wheel):  # type: ignore[misc,valid-type]
        """A wheel carrying the compiled monitor: any Python 3, this platform only."""

        def finalize_options(self) -> None:
            super().finalize_options()
            self.root_is_pure = False

        def get_tag(self) -> tuple[str, str, str]:
            _python, _abi, plat = super().get_tag()
            return "py3", "none", plat

    return PlatformWheel


cmdclass: dict[str, Any] = {"build_py": BuildWithSchemaAndMonitor}
if (wheel_command := _bdist_wheel()) is not None:
    cmdclass["bdist_wheel"] = wheel_command
setup(cmdclass=cmdclass)
