"""The plan: operations, each one Engine API call with the cause that made reconcile choose it.

`Plan.__str__` is what `--dry-run` prints and what golden tests compare; a converged project has an empty
plan (prints nothing). Operations form a DAG through `after` (ids of operations that must finish first);
`composer.execute` walks it and decides nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Kind(StrEnum):
    CREATE_NETWORK = "create_network"
    CREATE_VOLUME = "create_volume"
    PULL_IMAGE = "pull_image"
    BUILD_IMAGE = "build_image"
    CREATE_CONTAINER = "create_container"
    START_CONTAINER = "start_container"
    STOP_CONTAINER = "stop_container"
    REMOVE_CONTAINER = "remove_container"
    AWAIT = "await"  # wait for a dependency's condition before starting a dependent
    REMOVE_NETWORK = "remove_network"
    REMOVE_VOLUME = "remove_volume"
    REMOVE_IMAGE = "remove_image"
    REPLACE_CONTAINER = "replace_container"  # start-first update of a running container (composer.rollout)


# How each kind reads in `--dry-run` output: (resource word, verb).
_WORDS = {  # the one table of the plan's display words (plan text and progress lines)
    Kind.CREATE_NETWORK: ("Network", "Create"),
    Kind.CREATE_VOLUME: ("Volume", "Create"),
    Kind.PULL_IMAGE: ("Image", "Pull"),
    Kind.BUILD_IMAGE: ("Image", "Build"),
    Kind.CREATE_CONTAINER: ("Container", "Create"),
    Kind.START_CONTAINER: ("Container", "Start"),
    Kind.STOP_CONTAINER: ("Container", "Stop"),
    Kind.REMOVE_CONTAINER: ("Container", "Remove"),
    Kind.AWAIT: ("Service", "Wait"),
    Kind.REMOVE_NETWORK: ("Network", "Remove"),
    Kind.REMOVE_VOLUME: ("Volume", "Remove"),
    Kind.REMOVE_IMAGE: ("Image", "Remove"),
    Kind.REPLACE_CONTAINER: ("Container", "Replace start-first"),
}


@dataclass(frozen=True)
class Operation:
    """One engine call of a plan, with its cause and what it waits for."""

    id: str  # unique within the plan, e.g. "create:web-1"
    kind: Kind
    target: str  # the engine-side name (container, network, volume, image ref) or service for AWAIT
    cause: str
    service: str | None = None
    number: int | None = None  # container number for CREATE_CONTAINER
    container_id: str | None = None  # existing container for start/stop/remove
    key: str | None = None  # project key of a network/volume
    condition: str | None = None  # AWAIT: service_started / service_healthy / service_completed_successfully
    required: bool = True  # AWAIT: a failed optional dependency only warns
    timeout: int | None = None  # STOP_CONTAINER: seconds between the stop signal and SIGKILL
    remove_volumes: bool = False  # REMOVE_CONTAINER: its anonymous volumes go too (down -v, rm -v)
    recreate: bool = False  # stop/remove/create of a recreate: progress says Recreate, Recreated (as Compose)
    delay: float = 0.0  # REPLACE_CONTAINER: seconds to wait first (update_config.delay between batches)
    after: tuple[str, ...] = ()

    @property
    def noun(self) -> str:
        """What the plan text calls the target: Network, Volume, Image, Container, Service."""
        return _WORDS[self.kind][0]

    @property
    def progress_noun(self) -> str:
        """What a progress line calls it: waiting on a service is shown on its containers' lines."""
        return "Container" if self.kind is Kind.AWAIT else self.noun

    def __str__(self) -> str:
        verb = _WORDS[self.kind][1]
        what = f"{self.target} {self.condition}" if self.kind is Kind.AWAIT else self.target
        return f"{self.noun} {what}: {verb} ({self.cause})"


@dataclass(frozen=True)
class Plan:
    """What `reconcile` decided for a project, in dependency order."""

    project: str
    operations: tuple[Operation, ...] = ()
    warnings: tuple[str, ...] = field(default=())
    unchanged: tuple[str, ...] = ()  # selected services that need nothing (for --dry-run's explanation)

    def __bool__(self) -> bool:
        return bool(self.operations)

    def __str__(self) -> str:
        return "".join(f"{op}\n" for op in self.ordered())

    def ordered(self) -> list[Operation]:
        """Operations in an order that respects `after`, otherwise as planned (stable for golden tests)."""
        ids = {op.id for op in self.operations}
        done: set[str] = set()
        pending = list(self.operations)
        out: list[Operation] = []
        while pending:
            ready = next(
                (op for op in pending if all(a in done or a not in ids for a in op.after)), pending[0]
            )
            pending.remove(ready)
            done.add(ready.id)
            out.append(ready)
        return out

    def by_id(self) -> dict[str, Operation]:
        return {op.id: op for op in self.operations}

    def of_kind(self, *kinds: Kind) -> list[Operation]:
        return [op for op in self.operations if op.kind in kinds]
