"""Docker Compose's label keys and the filters that find a project's objects by them.

The labels on engine objects are the only record of what a project owns (no state file): composer and the
reference `docker compose` write the same keys, so each sees the other's containers, networks and volumes.
"""

from __future__ import annotations

from collections.abc import Mapping

PREFIX = "com.docker.compose."
PROJECT = PREFIX + "project"
SERVICE = PREFIX + "service"
CONTAINER_NUMBER = PREFIX + "container-number"
ONEOFF = PREFIX + "oneoff"
CONFIG_HASH = PREFIX + "config-hash"
IMAGE = PREFIX + "image"  # the image ID the container was created from
DEPENDS_ON = PREFIX + "depends_on"  # "svc:condition:restart,..." as the reference writes it
WORKING_DIR = PREFIX + "project.working_dir"
CONFIG_FILES = PREFIX + "project.config_files"
ENVIRONMENT_FILE = PREFIX + "project.environment_file"
VERSION = PREFIX + "version"
REPLACE = PREFIX + "replace"  # on a recreated container: the id of the one it replaces
NETWORK = PREFIX + "network"  # the project's key of a network (e.g. "default")
VOLUME = PREFIX + "volume"  # the project's key of a volume

# The reference version whose labels we write; the reference warns when it sees a much newer one.
COMPOSE_VERSION = "2.40.3"

TRUE = "True"  # Compose writes Go's strconv.FormatBool capitalised for oneoff
FALSE = "False"


def project_filter(project: str, *, oneoff: bool | None = False) -> dict[str, list[str]]:
    """Engine list filters for a project's objects; oneoff=None keeps `run` containers too."""
    wanted = [f"{PROJECT}={project}"]
    if oneoff is not None:
        wanted.append(f"{ONEOFF}={TRUE if oneoff else FALSE}")
    return {"label": wanted}


def service_filter(project: str, service: str) -> dict[str, list[str]]:
    return {"label": [f"{PROJECT}={project}", f"{SERVICE}={service}", f"{ONEOFF}={FALSE}"]}


def any_project_filter() -> dict[str, list[str]]:
    """Every object that belongs to some Compose project (for `ls`)."""
    return {"label": [PROJECT]}


def container_name(project: str, service: str, number: int) -> str:
    """Compose v2's default container name: project-service-N."""
    return f"{project}-{service}-{number}"


def number_of(labels: Mapping[str, str]) -> int:
    """The container number label, 0 when missing or garbled (such a container is treated as extra)."""
    try:
        return int(labels.get(CONTAINER_NUMBER, "0"))
    except ValueError:
        return 0


# composer's own: on the containers of a project brought up by a test session (`composer.reaper`),
# "<host>/<pid>/<process start time>" of the process that owns it; a dead owner's stack is reaped.
OWNER = "dev.composer.owner"
