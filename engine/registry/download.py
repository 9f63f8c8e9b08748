"""A layer download as a readable stream: the unpacker reads it while it arrives, the store keeps its bytes.

Every chunk read goes into the store's blob writer (which hashes it). At the end of the download, before
EOF is reported to the reader, the digest is checked and the blob committed; so a layer unpacked from this
stream is installed only after its compressed blob verified, and a mismatch raises inside the unpack (whose
temp directory is then removed): nothing is stored on a digest mismatch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

from engine.registry.errors import DigestMismatch
from engine.registry.store import BlobWriter

log = logging.getLogger(__name__)


class VerifiedDownload:
    def __init__(
        self,
        chunks: Iterator[bytes],
        writer: BlobWriter,
        digest: str,
        on_verified: Callable[[], None],
        check_cancel: Callable[[], None],
    ) -> None:
        self._chunks = chunks
        self._writer = writer
        self._digest = digest
        self._on_verified = on_verified
        self._check_cancel = check_cancel  # raises when the pull was cancelled
        self._buf = b""
        self._pos = 0
        self.done = False  # digest verified and blob committed
        self.failed = False  # the download raised

    def read(self, n: int = -1) -> bytes:
        if self._pos >= len(self._buf) and (self.done or not self._fill()):
            return b""
        if n is None or n < 0:
            parts = [self._buf[self._pos :]]
            self._pos = len(self._buf)
            while self._fill():
                parts.append(self._buf)
                self._pos = len(self._buf)
            return b"".join(parts)
        end = self._pos + n
        data = self._buf[self._pos : end] if self._pos or end < len(self._buf) else self._buf
        self._pos = min(end, len(self._buf))
        return data

    def _fill(self) -> bool:
        """Next non-empty chunk into the buffer; False (after verifying and committing) at the end."""
        if self.failed:
            raise EOFError("the layer download failed earlier")
        try:
            chunk = b""
            while not chunk:
                chunk = next(self._chunks)
        except StopIteration:
            pass
        except BaseException:
            self.failed = True  # the download itself broke (network, cancel): nothing more to read
            raise
        if chunk:
            self._writer.write(chunk)
            self._buf, self._pos = chunk, 0
            return True
        if not self.done:
            self._finish()
        return False

    def _finish(self) -> None:
        self._check_cancel()  # the last chunk's progress report may be what cancelled the pull
        got = self._writer.digest
        if got != self._digest:
            raise DigestMismatch(f"filesystem layer verification failed for digest {self._digest}: got {got}")
        self._writer.commit(expected=self._digest, durable=False)
        self.done = True
        self._on_verified()

    def drain(self) -> None:
        """Read to the end (verifying): after an unpack error, tells a corrupt download from a bad layer."""
        while self.read(1 << 20):
            pass

    def abort(self) -> None:
        if not self.done:
            self._writer.abort()
