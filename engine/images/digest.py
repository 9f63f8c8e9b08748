"""sha256 digests: validation and a reader that hashes what passes through it."""

from __future__ import annotations

import hashlib
import re
from typing import BinaryIO

from engine.errors import InvalidParameter

_DIGEST_RE = re.compile(r"^sha256:[a-f0-9]{64}$")
CHUNK = 1 << 20


def check_digest(digest: str) -> str:
    """Return the hex part of a sha256 digest; InvalidParameter for anything else."""
    if not isinstance(digest, str) or not _DIGEST_RE.match(digest):
        raise InvalidParameter(f"invalid digest: {digest!r}")
    return digest[len("sha256:"):]


def is_digest(value: str) -> bool:
    return bool(_DIGEST_RE.match(value))


def sha256_bytes(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class HashingReader:
    """Wraps a stream; every byte read is hashed and counted (used for digests computed while unpacking)."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._hash = hashlib.sha256()
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        data = self._stream.read(n)
        if data:
            self._hash.update(data)
            self.size += len(data)
        return data

    def drain(self) -> None:
        """Read to EOF so the digest covers the whole stream (tar readers stop at end-of-archive)."""
        while self.read(CHUNK):
            pass

    @property
    def digest(self) -> str:
        return "sha256:" + self._hash.hexdigest()


class PrefixedReader:
    """A stream with some bytes already read from it put back in front (for sniffing magic numbers)."""

    def __init__(self, prefix: bytes, stream: BinaryIO) -> None:
        self._prefix = prefix
        self._stream = stream

    def read(self, n: int = -1) -> bytes:
        if self._prefix:
            if n is None or n < 0:
                data, self._prefix = self._prefix + self._stream.read(), b""
                return data
            data, self._prefix = self._prefix[:n], self._prefix[n:]
            return data
        return self._stream.read(n)

    def close(self) -> None:
        self._stream.close()


def read_exact_prefix(stream: BinaryIO, n: int) -> bytes:
    """Read up to n bytes, tolerating short reads from pipes and sockets."""
    out = b""
    while len(out) < n:
        chunk = stream.read(n - len(out))
        if not chunk:
            break
        out += chunk
    return out
