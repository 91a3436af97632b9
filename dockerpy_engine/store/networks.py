"""The networks and endpoints tables: one row per network and per (container, network)
attachment, each holding its record as JSON (networks/service.py owns their meaning)."""

from __future__ import annotations

import orjson

from .db import Database


class NetworkRows:
    """Persists network and endpoint records; the network service keeps the live copies."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def load_networks(self) -> list[dict]:
        return [orjson.loads(data) for (data,) in self._db.query("SELECT data FROM networks")]

    def save_network(self, record: dict) -> None:
        with self._db.tx() as cur:
            cur.execute(
                "INSERT INTO networks(id, name, data) VALUES(?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET name=excluded.name, data=excluded.data",
                (record["id"], record["name"], orjson.dumps(record)),
            )

    def delete_network(self, network_id: str) -> None:
        with self._db.tx() as cur:
            cur.execute("DELETE FROM endpoints WHERE network_id = ?", (network_id,))
            cur.execute("DELETE FROM networks WHERE id = ?", (network_id,))

    def load_endpoints(self) -> list[dict]:
        return [orjson.loads(data) for (data,) in self._db.query("SELECT data FROM endpoints")]

    def save_endpoint(self, record: dict) -> None:
        with self._db.tx() as cur:
            cur.execute(
                "INSERT INTO endpoints(container_id, network_id, data) VALUES(?, ?, ?) "
                "ON CONFLICT(container_id, network_id) DO UPDATE SET data=excluded.data",
                (record["container_id"], record["network_id"], orjson.dumps(record)),
            )

    def delete_endpoint(self, container_id: str, network_id: str) -> None:
        with self._db.tx() as cur:
            cur.execute(
                "DELETE FROM endpoints WHERE container_id = ? AND network_id = ?",
                (container_id, network_id),
            )
