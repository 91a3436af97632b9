"""The containers table: one row per container, its record as JSON."""

from __future__ import annotations

import orjson

from .db import Database


class ContainerRows:
    """Persists container records; the service keeps the live copies in memory."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def load_all(self) -> list[dict]:
        return [orjson.loads(data) for (data,) in self._db.query("SELECT data FROM containers")]

    def save(self, record: dict) -> None:
        """Insert or replace; the name column enforces one container per name."""
        with self._db.tx() as cur:
            cur.execute(
                "INSERT INTO containers(id, name, data) VALUES(?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET name=excluded.name, data=excluded.data",
                (record["id"], record["name"], orjson.dumps(record)),
            )

    def delete(self, container_id: str) -> None:
        with self._db.tx() as cur:
            cur.execute("DELETE FROM containers WHERE id = ?", (container_id,))
