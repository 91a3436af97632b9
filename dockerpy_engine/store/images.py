"""The image tables: layers, images, image_refs and layer_holds, and all their SQL.

The image store keeps everything in memory and calls these methods to persist each change
as one transaction: an image lands with its new layers and tags together, and a delete
takes its refs, row and freed layers away together. Files on disk are written before the
rows that point at them and removed after, so the database never names missing data and a
crash only leaves unreferenced files, which startup recovery deletes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from .db import Database


@dataclass(frozen=True, slots=True)
class LayerRow:
    """One unpacked layer, keyed by its ChainID."""

    chain_id: str
    diff_id: str
    parent: str  # parent ChainID, '' for a base layer
    size: int  # unpacked size
    tar_size: int  # size of the kept uncompressed tar


@dataclass(frozen=True, slots=True)
class ImageRow:
    """One image: its config bytes (the ID is their sha256) and local metadata."""

    id: str
    config: bytes
    size: int
    parent: str
    added: float
    last_tag_time: str


@dataclass(frozen=True, slots=True)
class RefRow:
    """A name pointing at an image: full normalised reference, kind 'tag' or 'digest'."""

    ref: str
    image_id: str
    kind: str


class ImageRows:
    """Persists the image store's metadata; the store keeps the live copies in memory."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def load_layers(self) -> list[LayerRow]:
        rows = self._db.query("SELECT chain_id, diff_id, parent, size, tar_size FROM layers")
        return [LayerRow(*row) for row in rows]

    def load_images(self) -> list[ImageRow]:
        rows = self._db.query("SELECT id, config, size, parent, added, last_tag_time FROM images")
        return [ImageRow(r[0], bytes(r[1]), r[2], r[3], r[4], r[5]) for r in rows]

    def load_refs(self) -> list[RefRow]:
        return [
            RefRow(*row) for row in self._db.query("SELECT ref, image_id, kind FROM image_refs")
        ]

    def load_holds(self) -> list[tuple[str, str]]:
        return [(h, c) for h, c in self._db.query("SELECT holder, chain_id FROM layer_holds")]

    def add_layer(self, layer: LayerRow) -> None:
        with self._db.tx() as cur:
            cur.execute(
                "INSERT OR IGNORE INTO layers(chain_id, diff_id, parent, size, tar_size) "
                "VALUES(?, ?, ?, ?, ?)",
                (layer.chain_id, layer.diff_id, layer.parent, layer.size, layer.tar_size),
            )

    def add_image(self, image: ImageRow, refs: Iterable[RefRow]) -> None:
        """Insert the image (if new) and point its refs at it, in one transaction."""
        with self._db.tx() as cur:
            cur.execute(
                "INSERT OR IGNORE INTO images(id, config, size, parent, added, last_tag_time) "
                "VALUES(?, ?, ?, ?, ?, ?)",
                (
                    image.id,
                    image.config,
                    image.size,
                    image.parent,
                    image.added,
                    image.last_tag_time,
                ),
            )
            if image.last_tag_time:
                cur.execute(
                    "UPDATE images SET last_tag_time = ? WHERE id = ?",
                    (image.last_tag_time, image.id),
                )
            for ref in refs:
                _upsert_ref(cur, ref)

    def set_ref(self, ref: RefRow, last_tag_time: str = "") -> None:
        """Point a name at an image (moving it if it named another); record the tag time."""
        with self._db.tx() as cur:
            _upsert_ref(cur, ref)
            if last_tag_time:
                cur.execute(
                    "UPDATE images SET last_tag_time = ? WHERE id = ?",
                    (last_tag_time, ref.image_id),
                )

    def delete_refs(self, refs: Iterable[str]) -> None:
        with self._db.tx() as cur:
            cur.executemany("DELETE FROM image_refs WHERE ref = ?", [(r,) for r in refs])

    def delete_image(self, image_id: str, layers: Iterable[str]) -> None:
        """Remove an image, any refs left on it, and the layers it alone was using."""
        with self._db.tx() as cur:
            cur.execute("DELETE FROM image_refs WHERE image_id = ?", (image_id,))
            cur.execute("DELETE FROM images WHERE id = ?", (image_id,))
            cur.executemany("DELETE FROM layers WHERE chain_id = ?", [(c,) for c in layers])

    def delete_layers(self, layers: Iterable[str]) -> None:
        with self._db.tx() as cur:
            cur.executemany("DELETE FROM layers WHERE chain_id = ?", [(c,) for c in layers])

    def set_holds(self, holder: str, chain_ids: Iterable[str]) -> None:
        with self._db.tx() as cur:
            cur.execute("DELETE FROM layer_holds WHERE holder = ?", (holder,))
            cur.executemany(
                "INSERT INTO layer_holds(holder, chain_id) VALUES(?, ?)",
                [(holder, c) for c in chain_ids],
            )

    def delete_holds(self, holder: str) -> None:
        with self._db.tx() as cur:
            cur.execute("DELETE FROM layer_holds WHERE holder = ?", (holder,))


def _upsert_ref(cur: sqlite3.Cursor, ref: RefRow) -> None:
    cur.execute(
        "INSERT INTO image_refs(ref, image_id, kind) VALUES(?, ?, ?) "
        "ON CONFLICT(ref) DO UPDATE SET image_id = excluded.image_id, kind = excluded.kind",
        (ref.ref, ref.image_id, ref.kind),
    )
