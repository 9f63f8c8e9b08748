"""Build hook only (the project's metadata is in pyproject.toml): the Compose schema lives at
schemas/compose-spec.json in the repository, and a built package carries a copy at
composer/loader/schemas/compose-spec.json, where composer.loader.schema_file looks first."""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SCHEMA = Path(__file__).resolve().parent / "schemas" / "compose-spec.json"


class BuildWithSchema(build_py):  # type: ignore[misc]
    def run(self) -> None:
        super().run()
        if not self.editable_mode:  # an editable install reads the repository's schemas/ directly
            target = Path(self.build_lib) / "composer" / "loader" / "schemas"
            target.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(SCHEMA, target / SCHEMA.name)


setup(cmdclass={"build_py": BuildWithSchema})
