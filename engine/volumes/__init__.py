"""Named and anonymous volumes of the local driver."""

from engine.volumes.store import Volume, VolumeStore

__all__ = ["Volume", "VolumeStore"]
