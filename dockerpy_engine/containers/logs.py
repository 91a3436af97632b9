"""Names older callers import from here; the log drivers themselves live in `logdrivers/`."""

from __future__ import annotations

from .logdrivers import MAX_PARTIAL, JsonFileLog, LogEntry, parse_time_ns

__all__ = ["MAX_PARTIAL", "JsonFileLog", "LogEntry", "parse_time"]


def parse_time(text: str) -> float:
    """RFC 3339 (nanosecond precision allowed) → UNIX seconds."""
    return parse_time_ns(text) / 1e9
