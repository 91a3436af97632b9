"""Persistent metadata: SQLite, one module per table family."""

from .db import Database

__all__ = ["Database"]
