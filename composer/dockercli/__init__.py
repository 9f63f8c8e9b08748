"""What composer shares with the docker CLI: its configuration directory (config.json: the current context,
credentials), its context store, and the `docker compose` plugin entry point.

Nothing here is imported on the way to `composer --help`; `composer.client` asks `contexts.endpoint()` for
the engine only when no -H/DOCKER_HOST was given.
"""
