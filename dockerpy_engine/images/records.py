"""The images of the store by ID, in memory: each with the exact config bytes its ID hashes.

Loaded once from the images table at start, so lookups never touch disk; the store changes
them only after the transaction that persists the change has committed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, ValuesView

from ..store.images import ImageRow
from .types import Image


class ImageRecords(Mapping[str, Image]):
    """Image ID -> Image, in the order the images were stored."""

    def __init__(self) -> None:
        self._images: dict[str, Image] = {}
        self._raw: dict[str, bytes] = {}

    def __getitem__(self, image_id: str) -> Image:
        return self._images[image_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._images)

    def __len__(self) -> int:
        return len(self._images)

    def __contains__(self, image_id: object) -> bool:
        return image_id in self._images

    def values(self) -> ValuesView[Image]:
        return self._images.values()

    def load(self, rows: Iterable[ImageRow]) -> None:
        for row in rows:
            self._raw[row.id] = row.config
            self._images[row.id] = Image(
                id=row.id,
                config=json.loads(row.config),
                size=row.size,
                parent=row.parent,
                added=row.added,
                last_tag_time=row.last_tag_time,
            )

    def config_bytes(self, image_id: str) -> bytes:
        return self._raw[image_id]

    def configs(self) -> Mapping[str, bytes]:
        """Every image's config bytes by ID: what the blobs on disk must hold."""
        return self._raw

    def children(self, image_id: str) -> list[Image]:
        return [i for i in self._images.values() if i.parent == image_id]

    def put(self, image: Image, config: bytes) -> None:
        self._images[image.id] = image
        self._raw[image.id] = config

    def drop(self, image_id: str) -> Image:
        image = self._images.pop(image_id)
        self._raw.pop(image_id, None)
        return image
