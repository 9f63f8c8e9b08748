"""Compose files to a Project. Entry point: `composer.loader.pipeline.load_project(LoadOptions)`.

Stages, one module each: discovery (files, project directory, name), environment/dotenv (.env,
env_file), yamlsrc (YAML with marks, !reset/!override), interpolate, include, extends, merge,
paths (relative paths of other files), profiles; then normalize and validate (canonical form and
checks) and composer.model.Project.
"""
