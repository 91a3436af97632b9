"""The metadata database: one SQLite file in WAL mode, schema versioned by ordered migrations.

Only store/ imports sqlite3. Each table family has its own module (images.py, containers.py)
that receives a Database and owns its SQL. A transaction is a `with db.tx():` block, so a
change that touches several rows lands whole or not at all, which is what lets a daemon
killed at any point restart into a consistent state.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Each entry migrates the schema from version i to i+1; never edit a released entry.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE layers (
        chain_id   TEXT PRIMARY KEY,
        diff_id    TEXT NOT NULL,
        parent     TEXT NOT NULL DEFAULT '',
        size       INTEGER NOT NULL,
        tar_size   INTEGER NOT NULL
    );
    CREATE TABLE images (
        id       TEXT PRIMARY KEY,
        config   BLOB NOT NULL,
        size     INTEGER NOT NULL,
        parent   TEXT NOT NULL DEFAULT '',
        added    REAL NOT NULL
    );
    CREATE TABLE image_refs (
        ref       TEXT PRIMARY KEY,
        image_id  TEXT NOT NULL REFERENCES images(id),
        kind      TEXT NOT NULL   -- 'tag' or 'digest'
    );
    CREATE INDEX image_refs_image ON image_refs(image_id);
    CREATE TABLE containers (
        id     TEXT PRIMARY KEY,
        name   TEXT NOT NULL UNIQUE,
        data   BLOB NOT NULL
    );
    """,
    # 1 -> 2: image tag time (inspect's Metadata.LastTagTime) and layer holds, the layers a
    # container's rootfs still needs after its image was force-removed (store/images.py).
    """
    ALTER TABLE images ADD COLUMN last_tag_time TEXT NOT NULL DEFAULT '';
    CREATE TABLE layer_holds (
        holder    TEXT NOT NULL,
        chain_id  TEXT NOT NULL,
        PRIMARY KEY (holder, chain_id)
    );
    """,
    # 2 -> 3: volumes of the local driver (store/volumes.py); their data stays on disk.
    """
    CREATE TABLE volumes (
        name  TEXT PRIMARY KEY,
        data  BLOB NOT NULL
    );
    """,
    # 3 -> 4: networks and their endpoints (store/networks.py).
    """
    CREATE TABLE networks (
        id    TEXT PRIMARY KEY,
        name  TEXT NOT NULL UNIQUE,
        data  BLOB NOT NULL
    );
    CREATE TABLE endpoints (
        container_id  TEXT NOT NULL,
        network_id    TEXT NOT NULL,
        data          BLOB NOT NULL,
        PRIMARY KEY (container_id, network_id)
    );
    """,
)


class Database:
    """A single connection shared by the daemon's services.

    Writes are short and run on the event loop thread; the lock makes the occasional call
    from a worker thread (image import) safe.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._lock = threading.RLock()
        self._migrate()

    def _migrate(self) -> None:
        (version,) = self._conn.execute("PRAGMA user_version").fetchone()
        for index in range(version, len(MIGRATIONS)):
            with self.tx() as cur:
                for statement in _split_sql(MIGRATIONS[index]):
                    cur.execute(statement)
                cur.execute(f"PRAGMA user_version={index + 1}")

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Cursor]:
        """One atomic transaction: committed on success, rolled back on any exception."""
        with self._lock:
            cur = self._conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                yield cur
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            else:
                cur.execute("COMMIT")
            finally:
                cur.close()

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements (executescript would commit our transaction)."""
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line.split("--", 1)[0] if "--" in line else line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements
