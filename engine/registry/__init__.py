"""OCI distribution client: pull images from and push them to registries (the engine's client half)."""

from __future__ import annotations

from engine.registry.auth import Credentials
from engine.registry.client import RegistryClient
from engine.registry.endpoints import RegistryOptions

__all__ = ["Credentials", "RegistryClient", "RegistryOptions"]
