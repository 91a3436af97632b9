"""Blob bytes off the event loop: a hashed temp file for downloads, gzip for uploads.

Every method that touches bytes in bulk (hashing, writing, compressing) is synchronous and
meant for a worker thread (`asyncio.to_thread`); callers batch network reads into 1 MiB
buffers first, so a thread hop is paid per MiB, not per socket read. hashlib and zlib
release the GIL on large buffers, so these threads really run in parallel with the loop.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import zlib
from pathlib import Path
from typing import BinaryIO

from ..images.layers import BUFSIZE

SUPPORTED_DIGESTS = ("sha256", "sha384", "sha512")


class BlobSink:
    """A download's temp file and the running digest of what it holds.

    Survives a dropped connection: `size` is where a Range request resumes; `reset()`
    starts over when the server cannot resume.
    """

    def __init__(self, path: Path, digest: str) -> None:
        self.path = path
        self.algorithm, _, self.expected_hex = digest.partition(":")
        if self.algorithm not in SUPPORTED_DIGESTS:
            raise ValueError(f"unsupported digest algorithm {self.algorithm!r}")
        self._hash = hashlib.new(self.algorithm)
        self._file: BinaryIO | None = open(path, "wb")  # noqa: SIM115
        self.size = 0

    def write(self, data: bytes) -> None:
        """Hash and append (worker thread)."""
        assert self._file is not None
        self._hash.update(data)
        self._file.write(data)
        self.size += len(data)

    def reset(self) -> None:
        """Forget everything received (the server ignored our Range)."""
        assert self._file is not None
        self._file.seek(0)
        self._file.truncate()
        self._hash = hashlib.new(self.algorithm)
        self.size = 0

    def verified(self) -> bool:
        return self._hash.hexdigest() == self.expected_hex

    def finish(self) -> None:
        """Flush to disk (worker thread): the file is then read back for extraction."""
        if self._file is not None:
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def discard(self) -> None:
        self.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)


def read_chunk(handle: BinaryIO, size: int = BUFSIZE) -> bytes:
    """One read of a file opened unbuffered (worker thread)."""
    return handle.read(size)


class GzipStream:
    """gzip of an uncompressed layer, as dockerd's push compresses it (default level).

    `feed(chunk)` returns the compressed bytes so far and `finish()` the rest; the sha256
    and size of the compressed output are kept, since they name the blob in the registry.
    """

    def __init__(self, level: int = zlib.Z_DEFAULT_COMPRESSION) -> None:
        self._compressor = zlib.compressobj(level, zlib.DEFLATED, 31)  # 31: gzip wrapper
        self._hash = hashlib.sha256()
        self.size = 0
        self.consumed = 0

    def _out(self, data: bytes) -> bytes:
        self._hash.update(data)
        self.size += len(data)
        return data

    def feed(self, chunk: bytes) -> bytes:
        self.consumed += len(chunk)
        return self._out(self._compressor.compress(chunk))

    def finish(self) -> bytes:
        return self._out(self._compressor.flush(zlib.Z_FINISH))

    @property
    def digest(self) -> str:
        return "sha256:" + self._hash.hexdigest()
