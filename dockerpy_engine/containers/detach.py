"""Detach keys (default ctrl-p,ctrl-q): the daemon watches an attached client's input for the
sequence and, on seeing it, lets go of the container without stopping it (dockerd's term
escape proxy)."""

from __future__ import annotations

from ..errdefs import InvalidParameter

DEFAULT_DETACH_KEYS = "ctrl-p,ctrl-q"
_CTRL_EXTRA = {"@": 0, "[": 27, "\\": 28, "]": 29, "^": 30, "_": 31}


def parse_detach_keys(spec: str) -> bytes:
    """ "ctrl-p,ctrl-q" → b"\\x10\\x11"; single characters stand for themselves."""
    keys = bytearray()
    for part in spec.split(","):
        if len(part) == 1:
            keys.append(ord(part))
            continue
        name = part[5:] if part.startswith("ctrl-") else ""
        if len(name) == 1 and "a" <= name <= "z":
            keys.append(ord(name) - ord("a") + 1)
        elif len(name) == 1 and name in _CTRL_EXTRA:
            keys.append(_CTRL_EXTRA[name])
        else:
            raise InvalidParameter(f"Invalid detach keys ({spec}) provided")
    return bytes(keys)


class DetachScanner:
    """Passes input through, holding back a possible start of the sequence until it is
    complete (detach) or broken (the held bytes go through after all)."""

    def __init__(self, keys: bytes) -> None:
        self._keys = keys
        self._held = b""

    def feed(self, chunk: bytes) -> tuple[bytes, bool]:
        out = bytearray()
        for byte in chunk:
            expected = self._keys[len(self._held)]
            if byte == expected:
                self._held += bytes([byte])
                if self._held == self._keys:
                    self._held = b""
                    return bytes(out), True
                continue
            out += self._held
            self._held = b""
            if byte == self._keys[0]:
                self._held = bytes([byte])
            else:
                out.append(byte)
        return bytes(out), False
