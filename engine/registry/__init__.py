"""OCI distribution client: pull images from and push them to registries (the engine's client half).

`RegistryClient(store, RegistryOptions.from_daemon_config(daemon_json))` is what the API routes use:
`pull(ref, platform=, credentials=, progress=)`, `push(ref, credentials=, progress=)`, `login(...)`;
`decode_registry_auth(X-Registry-Auth header)` turns the API's header into `Credentials`.
"""

from __future__ import annotations

from engine.registry.auth import Credentials
from engine.registry.client import RegistryClient
from engine.registry.credentials import decode_registry_auth
from engine.registry.endpoints import RegistryOptions
from engine.registry.errors import DigestMismatch, Unauthorized

__all__ = [
    "Credentials",
    "DigestMismatch",
    "RegistryClient",
    "RegistryOptions",
    "Unauthorized",
    "decode_registry_auth",
]
