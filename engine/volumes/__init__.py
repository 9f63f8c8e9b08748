"""Named and anonymous volumes of the local driver (store), their driver_opts mounts (localmount) and the
first-use copy of image content (copy)."""

from engine.volumes.store import Volume, VolumeStore

__all__ = ["Volume", "VolumeStore"]
