"""Detach keys (`ctrl-p,ctrl-q` by default): typed on an attached stdin, they end the attach and leave
the container running, as with dockerd, which watches for them on the server side."""

from __future__ import annotations

from engine.errors import InvalidParameter

DEFAULT = "ctrl-p,ctrl-q"


def parse(spec: str) -> bytes:
    """ "ctrl-p,ctrl-q" -> b"\\x10\\x11"; single characters stand for themselves ("a", "ctrl-@")."""
    out = bytearray()
    for key in (spec or DEFAULT).split(","):
        key = key.strip()
        if len(key) == 1:
            out.append(ord(key))
        elif key.startswith("ctrl-") and len(key) == 6:
            c = key[5].lower()
            if "a" <= c <= "z":
                out.append(ord(c) - ord("a") + 1)
            elif c in "@[\\]^_":
                out.append({"@": 0, "[": 27, "\\": 28, "]": 29, "^": 30, "_": 31}[c])
            else:
                raise InvalidParameter(f"Invalid escape keys ({spec}) provided")
        else:
            raise InvalidParameter(f"Invalid escape keys ({spec}) provided")
    return bytes(out)


class Watcher:
    """Feeds stdin through; reports when the whole sequence was typed. Bytes of a partial match are
    held back until it is clear they were not the sequence, as dockerd does."""

    def __init__(self, keys: bytes) -> None:
        self.keys = keys
        self._held = b""

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        """(bytes to pass on, detached?)"""
        out = bytearray()
        for b in data:
            candidate = self._held + bytes([b])
            if self.keys.startswith(candidate):
                if candidate == self.keys:
                    self._held = b""
                    return bytes(out), True
                self._held = candidate
                continue
            out += candidate
            self._held = b""
        return bytes(out), False

    def flush(self) -> bytes:
        held, self._held = self._held, b""
        return held
