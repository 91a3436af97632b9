"""The volumes table: one row per volume of the local driver, its record as JSON.

The volume's data lives in `<data-root>/volumes/<name>/_data`; this table holds what the
directory cannot say (labels, driver options, creation time).
"""

from __future__ import annotations

import orjson

from .db import Database


class VolumeRows:
    """Persists volume records; the volume service keeps the live copies in memory."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def load_all(self) -> list[dict]:
        return [orjson.loads(data) for (data,) in self._db.query("SELECT data FROM volumes")]

    def save(self, record: dict) -> None:
        with self._db.tx() as cur:
            cur.execute(
                "INSERT INTO volumes(name, data) VALUES(?, ?) "
                "ON CONFLICT(name) DO UPDATE SET data=excluded.data",
                (record["name"], orjson.dumps(record)),
            )

    def delete(self, name: str) -> None:
        with self._db.tx() as cur:
            cur.execute("DELETE FROM volumes WHERE name = ?", (name,))
