"""SHA-256 of the small texts composer hashes on every `up` (a service's config hash, a network's),
without loading OpenSSL's libcrypto: `hashlib`'s import alone is ~2.5 ms of a ~50 ms command.

Python's built-in implementation gives the same digest; it is slower per byte than OpenSSL's, so large
data (build contexts, image layers) keeps using `hashlib`.
"""

from __future__ import annotations

__all__ = ["sha256", "sha256_hex"]

try:
    from _sha2 import sha256  # Python 3.12+
except ImportError:
    try:
        from _sha256 import sha256  # Python 3.11
    except ImportError:  # a build without the built-in module
        from hashlib import sha256


def sha256_hex(data: bytes) -> str:
    digest: str = sha256(data).hexdigest()
    return digest
