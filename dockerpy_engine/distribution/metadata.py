"""Which registry blobs hold which layers: dockerd's v2metadata, one small file per DiffID.

A layer's DiffID is the sha256 of its uncompressed tar; in a registry it lives as a
compressed blob with another digest. Pull and push record `(blob digest, repository)`
for the DiffID, so a later push can ask the registry for that blob (HEAD: "Layer already
exists") or mount it from another repository of the same registry instead of uploading.

    <data root>/distribution/v2metadata-by-diffid/sha256/<diffid hex>   JSON list

Files are replaced atomically: written in the image store's tmp/ (which every start empties,
so a daemon killed mid-write leaves nothing behind), then renamed into place. A lost or stale
entry only costs an upload.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import orjson

MAX_ENTRIES = 50


@dataclass(frozen=True, slots=True)
class BlobRecord:
    """A blob known to hold a layer: its digest, media type, size and where it was seen."""

    digest: str
    repository: str  # full name: `127.0.0.1:5000/busybox`, `docker.io/library/busybox`
    media_type: str = ""
    size: int = 0

    @property
    def registry(self) -> str:
        return self.repository.split("/", 1)[0]

    @property
    def path(self) -> str:
        return self.repository.split("/", 1)[1] if "/" in self.repository else ""


class LayerMetadata:
    """The DiffID → blobs map, on disk under the data root."""

    def __init__(self, root: Path) -> None:
        self.root = root / "distribution" / "v2metadata-by-diffid"
        self._tmp = root / "tmp"  # the image store's: emptied at start

    def _path(self, diff_id: str) -> Path:
        algorithm, _, hexpart = diff_id.partition(":")
        if not hexpart or not hexpart.isalnum() or not algorithm.isalnum():
            raise ValueError(f"invalid DiffID {diff_id!r}")
        return self.root / algorithm / hexpart

    def _read(self, diff_id: str) -> list[BlobRecord]:
        try:
            document = orjson.loads(self._path(diff_id).read_bytes())
        except (FileNotFoundError, orjson.JSONDecodeError, ValueError):
            return []
        records = []
        for entry in document if isinstance(document, list) else []:
            if isinstance(entry, dict) and isinstance(entry.get("Digest"), str):
                records.append(
                    BlobRecord(
                        entry["Digest"],
                        str(entry.get("SourceRepository") or ""),
                        str(entry.get("MediaType") or ""),
                        int(entry.get("Size") or 0),
                    )
                )
        return records

    def _add(self, diff_id: str, record: BlobRecord) -> None:
        records = [
            r
            for r in self._read(diff_id)
            if (r.digest, r.repository) != (record.digest, record.repository)
        ]
        records.append(record)  # newest last, as dockerd keeps them
        records = records[-MAX_ENTRIES:]
        path = self._path(diff_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp.mkdir(parents=True, exist_ok=True)
        tmp = self._tmp / f"v2metadata-{path.name}.{secrets.token_hex(4)}"
        payload = [
            {
                "Digest": r.digest,
                "SourceRepository": r.repository,
                "MediaType": r.media_type,
                "Size": r.size,
            }
            for r in records
        ]
        try:
            tmp.write_bytes(orjson.dumps(payload))
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()

    async def get(self, diff_id: str) -> list[BlobRecord]:
        """Known blobs for a DiffID, newest first."""
        return list(reversed(await asyncio.to_thread(self._read, diff_id)))

    async def add(self, diff_id: str, record: BlobRecord) -> None:
        await asyncio.to_thread(self._add, diff_id, record)
